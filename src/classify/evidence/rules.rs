//! The phrase rules behind the detectors: one table row per cue, with the context it needs.
//!
//! A rule's pattern finds the cue; its guard says whether a negation ("no danger") or a
//! hypothesis ("could cause an injury") in the clause before it cancels it; its exclusion
//! drops uses that are topics or names, not cues ("child benefit", "Rowan Court", "disabled
//! parking bay", "hearing aid"). `strong` marks cues that make a message urgent by
//! themselves under the labelling rules of the public set (an injury already caused, legal
//! action under way, a gas leak); the others need a second cue.

use std::sync::LazyLock;

use regex::Regex;

use super::EvidenceKind;

/// What in the clause before a hit cancels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Nothing: the cue counts wherever it is.
    Plain,
    /// A negation before it ("no gas leak", "not disabled").
    Negation,
    /// A negation or a hypothesis before it ("could be injured", "before someone falls").
    Actual,
    /// As [`Guard::Actual`], and a person must be named in the words before it ("I fell",
    /// "a pedestrian tripped"; not "the banners have fallen").
    PersonActual,
    /// A negation, or no person named in the clause ("I feel suicidal", not "a list of
    /// anxiety, depression and suicidal thoughts").
    Personal,
}

/// One compiled rule.
pub struct Rule {
    /// The kind of evidence.
    pub kind: EvidenceKind,
    /// What the cue is, in a few words (`injury`, `gas`, `elderly`).
    pub detail: &'static str,
    /// Urgent by itself.
    pub strong: bool,
    /// What cancels it.
    pub guard: Guard,
    /// The cue.
    pub pattern: Regex,
    /// Uses that are not cues, matched around the hit: a match overlapping it drops it.
    pub exclude: Option<Regex>,
}

/// Uses of injury words that are not injuries.
const INJURY_EXCLUDE: &str = r"(?i)\b(?:fall(?:s|en)? (?:into disrepair|behind|apart|through the cracks|foul|victim|down on|on deaf|under|within|short|due|silent)|fell (?:behind|victim|short|silent|due|on deaf|through)|fallen (?:victim|behind|down)|tripped (?:the|a) (?:switch|breaker)|broken (?:down|into|promises?|glass|street ?lights?|lights?|bins?|fence|pipes?|links?|up)|hit by (?:a|the) (?:fee|charge|bill)|comes? off (?:my|the) (?:credit|report|record)|came off (?:my|the) (?:credit|report|record))";

/// The table: kind, detail, strong, guard, pattern, exclusion ("" for none). Patterns are
/// case-insensitive.
#[rustfmt::skip]
const TABLE: &[(EvidenceKind, &str, bool, Guard, &str, &str)] = {
    use EvidenceKind::*;
    use Guard::*;
    &[
    // ---- Legal action, under way or threatened.
    (Legal, "court", true, Negation,
     r"\b(?:court (?:order|case|hearing|date|action|proceedings|summons|papers|judg(?:e)?ment)|(?:county|small claims|magistrates'?|crown|family|high|district|bankruptcy|federal|supreme|civil|housing) court|(?:in|to|through the) courts?\b)",
     r"(?i)\b(?:food|tennis|basketball|netball) court|\bcourt(?:yard| road| lane| street| drive| close)\b"),
    (Legal, "lawsuit", true, Negation,
     r"\b(?:lawsuits?|law suits?|litigation|legal proceedings|legal action (?:has been|was) (?:taken|started|filed)|(?:filed|file|issued) (?:a )?(?:claim|suit|lawsuit) (?:against|in)|sued|suing|class action|motion (?:hearing|to stay|for)|summons|injunction|tribunal)\b", ""),
    (Legal, "legal threat", false, Negation,
     r"\b(?:(?:take|taking|consider(?:ing)?|pursue|pursuing|seek|seeking|prepared to take|begin|start) (?:further )?legal (?:action|advice|proceedings|steps|remedies|intervention|route)|legal action|legal intervention|(?:my|a|our) (?:solicitors?|lawyers?|attorneys?|legal counsel|legal team)|(?:contact(?:ed)?|consult(?:ed)?|instruct(?:ed)?|speak to|spoken to|retain(?:ed)?) (?:a |my |our )?(?:solicitor|lawyer|attorney)|letter before action|sue (?:you|the council|them|for)|see you in court|small claims|(?:make|making|submit|seek|seeking|lodge) (?:a )?(?:claim|compensation)|seek compensation|cease and desist)\b", ""),
    (Legal, "foreclosure", true, Negation,
     r"\b(?:foreclos(?:e|ed|ure|ures|ing)|repossess(?:ed|ion|ions|ing)?|reposession|evict(?:ed|ion|ions|ing)?|possession order|section 21 notice|bailiffs?|enforcement agents?|warrant of (?:possession|control)|sheriff sale|lien on)\b", ""),
    (Legal, "judgment", true, Negation,
     r"\b(?:(?:county court |default )?judg(?:e)?ments? (?:against|was|were|entered|on|for)|ccj|bankrupt(?:cy)?|chapter (?:7|13) (?:bankruptcy|filing)|garnish(?:ed|ment|ing)|wage garnishment)\b",
     r"(?i)\b(?:in my|poor|good|my own|your|error of|value) judg(?:e)?ment"),
    // ---- Danger to people.
    (Danger, "injury", true, PersonActual,
     r"\b(?:fell|fallen|tripped|slipped|trips|falls|stumbled|came off|come off|knocked (?:down|over|off))\b",
     INJURY_EXCLUDE),
    (Danger, "injury", true, Actual,
     r"\b(?:(?:broke|broken|fractured|sprained|twisted|injured|hurt|bruised|grazed|dislocated) (?:my|her|his|their|both)\b|broken? (?:a|two|several|my|her|his) (?:bones?|ribs?|spine|arm|leg|wrist|ankle|hip|collarbone|nose|knee|elbow|shoulder)\b|(?:was|were|been|got|being|is|are) (?:badly |seriously |severely )?(?:injured|hurt|hit by|knocked (?:down|off|over)|taken to hospital|hospitali[sz]ed)|injur(?:y|ies) (?:to|from)|(?:minor|serious|severe|nasty|head|back|leg) injur(?:y|ies)|(?:taken|rushed|went|go) to (?:a&e|hospital|the emergency room)|broken (?:bones?|wrist|arm|leg|ankle|hip|nose|ribs?|spine|collarbone)|fractur(?:ed|e)\b)",
     INJURY_EXCLUDE),
    (Danger, "gas", true, Negation,
     r"\b(?:gas leak(?:s|ing)?|leaking gas|smell(?:s|ed|ing)? (?:of )?gas|gas smell|carbon monoxide|co alarm|fumes (?:coming|leaking))\b", ""),
    (Danger, "fire", true, Negation,
     r"\b(?:on fire|caught fire|set (?:on )?fire|house fire|fire broke out|smoke (?:coming|pouring|alarm going)|sparking|sparks (?:coming|flying)|burning smell|smell(?:s|ing)? of burning|arson)\b", ""),
    (Danger, "electrics", true, Negation,
     r"\b(?:exposed (?:electric(?:al)? )?(?:wires?|wiring|cables?)|(?:live|bare|loose|hanging|dangling) (?:electric(?:al|ity)? )?(?:wires?|wiring|cables?)|electric(?:al)? shocks?|electrocut\w*|(?:on|against|resting on|touching|onto) (?:the )?(?:electricity|electric|power|overhead|telephone|phone)(?:[/ ](?:electricity|electric|power|overhead|telephone|phone))? (?:lines?|wires?|cables?)|(?:power|electricity) lines? down|downed (?:power )?lines?)\b", ""),
    (Danger, "flooding indoors", true, Negation,
     r"\b(?:flood(?:ed|ing|s)? (?:into|in) (?:the |our |my |her |his |their )?(?:house|home|property|kitchen|bedroom|flat|living room|houses|homes)|water (?:is |was |keeps |has been )?(?:coming|pouring|leaking|dripping) (?:in )?(?:through|from|into) (?:the |our |my )?(?:ceiling|roof|house|home|flat|electrics|light)|burst (?:water )?(?:pipe|main)|sewage (?:in|into|coming|flooding|overflowing)|water ingress|ice on (?:the )?(?:carriageway|road|pavement))\b", ""),
    (Danger, "no heating or water", true, Negation,
     r"\b(?:no (?:heating|heat|hot water|running water|water supply|electricity|power supply|gas supply)|without (?:any )?(?:heating|heat|hot water|water|electricity|power)|(?:boiler|heating|central heating|hot water) (?:has )?(?:broken down|broke down|stopped working|is not working|isn't working|not working|has failed|failed|packed up)|no water (?:in|at|to|coming)|power cut)\b", ""),
    (Danger, "collapse", false, Actual,
     r"\b(?:collaps(?:ed|ing)|caved in|caving in|sink ?holes?|subsided|subsiding|ceiling (?:has )?(?:fallen|come down|fell)|(?:wall|roof|ceiling|bridge|structure) (?:is )?(?:falling|about to fall|giving way|gave way)|(?:timbers?|floor|floorboards?|boards?|steps?|ground|pavement|kerb|edge|surface) (?:is |are |has |have )?(?:gave|giving|given) way|broken through)\b",
     r"(?i)\bcollapsed? (?:the|my|our) (?:account|case)"),
    (Danger, "cover missing", true, Negation,
     r"\b(?:missing (?:drain |manhole |man hole |inspection |access |bt |water |gully )?(?:covers?|lids?|grates?|grids?)|(?:manhole|man hole|drain|inspection|access) covers? (?:is |has )?(?:missing|gone|broken|cracked|collapsed|loose|slipped|dislodged|sunk)|fall (?:through|into|in to|down) (?:the |a )?(?:deep |open |large |big )?hole|(?:manhole|man hole|drain cover|grate|grid)s? (?:cover )?(?:is |has |have )?(?:missing|gone|broken|cracked|collapsed|loose|slipped|dislodged|sunk)|open (?:manhole|drain|hole))\b", ""),
    (Danger, "falling tree", true, Negation,
     r"\b(?:(?:tree|branch|limb|bough)s? (?:has |have |is |are )?(?:snapped|split|cracked|about to (?:fall|snap|break|come down)|hanging (?:above|over|down|off)|leaning (?:over|on|dangerously))|(?:snapped(?: off)?|hanging|split) (?:tree|branch|limb|bough)s?|tree (?:is )?(?:on|across) (?:the )?(?:road|car|house|line))\b", ""),
    (Danger, "fallen tree", false, Negation,
     r"\b(?:(?:tree|branch|limb|bough)s? (?:has |have |is |are )?(?:fallen|broken off|come down|blown down|uprooted)|fallen (?:tree|branch|limb|bough)s?)\b", ""),
    (Danger, "near miss", false, Negation,
     r"\b(?:near miss(?:es)?|nearly (?:got |been |was |were )?(?:hit|knocked|killed|run over|crashed|fell|came off)|narrowly missed|missing (?:the|our|my) [a-z]+ by (?:just )?(?:\d+|a few|inches))\b", ""),
    (Danger, "unavoidable road defect", true, Plain,
     r"\b(?:unavoidable|impossible to avoid|cannot avoid|can't avoid|can not avoid|unable to avoid|unable to go around|no way (?:to|of) avoiding|forced (?:out )?into (?:the )?(?:middle|oncoming))\b", ""),
    (Danger, "accident happened", false, Negation,
     r"\b(?:accidents? (?:have|has|had) (?:already )?happened|there (?:has|have) (?:already )?been (?:an? |several |two |many |multiple )?(?:accidents?|crash(?:es)?|collisions?)|(?:was|were|been) (?:involved in|in) (?:an? )?(?:accident|crash|collision)|(?:had|caused) (?:an? )?(?:accident|crash|collision))\b", ""),
    (Danger, "emergency services held up", true, Negation,
     r"\b(?:ambulances?|fire engines?|emergency services?|paramedics|fire brigade)\b[^.]{0,40}?\b(?:delayed|blocked|held up|unable to (?:get|reach|access|pass))\b", ""),
    (Danger, "danger to life", true, Negation,
     r"\b(?:danger to life|risk to life|life[- ]threatening|endanger(?:s|ing)? (?:life|lives)|could (?:easily )?(?:cause|result in) a fatality|someone (?:could|will) (?:be|get) killed|(?:cause|causing) (?:a )?death)\b", ""),
    // ---- A vulnerable person.
    (Vulnerability, "elderly", true, Negation,
     r"\b(?:elderly|pensioners?|oap|frail|old age pensioner|(?:aged|age|is|am|i'm|he's|she's|who is|turned) (?:7[5-9]|[89]\d|1[01]\d)\b|(?:7[5-9]|[89]\d)[- ]years?[- ]olds?|in (?:his|her|their|my) (?:late seventies|eighties|nineties|80s|90s)|(?:mum|mother|dad|father|nan|gran|grandmother|grandfather|aunt|uncle|husband|wife) \((?:7[5-9]|[89]\d)|us elderly)\b",
     r"(?i)\b(?:is|am|aged|age) \d+ ?(?:metres|meters|m|yards|feet|ft|foot|miles|mph|km|cm|mm|inches|percent|%|pounds|dollars|days|weeks|months|minutes|hours|years ago)\b"),
    (Vulnerability, "disabled", true, Negation,
     r"\b(?:(?:registered|severely|physically|profoundly) disabled|disabled (?:people|person|man|woman|son|daughter|child|children|mother|father|parents?|husband|wife|partner|veteran|resident|residents|users?|pedestrians|drivers?|adult|brother|sister|mum|dad)|(?:i am|i'm|am|is|are|was|being) disabled|a disabled|disabilit(?:y|ies)|(?:in|uses?|using|needs?|pushing) (?:a |his |her |my |their |our )?wheelchair|wheelchair[- ](?:users?|bound|accessible)|mobility (?:issues|problems|scooter|aid|difficulties)|walking (?:frame|stick|aid)|zimmer|blind|partially sighted|poorly sighted|visually impaired|sight impaired|deaf|hard of hearing|housebound|bed ?bound|learning (?:disabilit(?:y|ies)|difficult(?:y|ies))|autis(?:m|tic)|special (?:educational )?needs)\b",
     r"(?i)\b(?:disabled (?:parking|bays?|spaces?|toilets?|access|badge)|blind (?:bend|corner|spot|summit|junction|side)|(?:account|card|access) (?:was |were |has been |is )?disabled|turned a blind eye|fell on deaf ears|deaf ears|venetian blind|blinds)\b"),
    (Vulnerability, "child", false, Negation,
     r"\b(?:bab(?:y|ies)|toddlers?|newborn|infants?|(?:my|our|her|his|their) (?:child|children|kids?|grandchild(?:ren)?|(?:young|small|little) (?:son|daughter|boy|girl))|(?:young|small|little) (?:child|children|kids?)|pushchairs?|prams?|buggy|buggies)\b",
     r"(?i)\b(?:child(?:ren'?s)? (?:benefit|support|maintenance|tax credits?|care|services)|childcare|baby boomers?|infant school|(?:as|when i was|since i was) a child|baby swings?|baby wipes)\b"),
    (Vulnerability, "pregnant", true, Negation,
     r"\b(?:pregnan(?:t|cy)|expecting a baby|due to give birth|maternity)\b", r"(?i)maternity (?:pay|leave) (?:policy|rates)"),
    (Vulnerability, "illness", true, Negation,
     r"\b(?:heart (?:condition|disease|attack|problems?|failure)|cancer|chemo(?:therapy)?|dementia|alzheimer'?s|terminal(?:ly)? ill|seriously ill|(?:chronic|long[- ]term|serious|severe|medical|health) (?:illness|condition|pain|health)|(?:stroke|seizures?|epilep(?:sy|tic))|copd|asthma(?:tic)?|diabet(?:es|ic)|dialysis|oxygen (?:tank|supply|machine)|immuno ?compromised|(?:my|her|his|their|our) mental health|mental health (?:problems|issues|conditions?|crisis|difficulties)|(?:suffer(?:s|ing)? (?:from|with)|diagnosed with|(?:i|she|he|they|we) (?:have|has|had)|(?:my|her|his|their|severe|clinical|postnatal|post-natal) )depression|ptsd|recovering from (?:surgery|an operation)|(?:had|having|after) (?:surgery|an operation)|hospitali[sz]ed|in hospital|vulnerable (?:adult|person|people|resident|tenant|customer)|(?:is|am|i'm|are) vulnerable)\b",
     r"(?i)\bstroke of luck\b"),
    (Vulnerability, "carer", false, Negation,
     r"\b(?:(?:full[- ]time |sole |unpaid |primary )?carer|caregiver|care giver|i (?:look after|care for) my|lives? alone|living alone|widow(?:ed|er)?)\b", ""),
    // ---- Distress.
    (Distress, "distress", true, Negation,
     r"\b(?:distress(?:ed|ing)?|(?:i am|i'm|we are|we're|feeling|getting|becoming) desperate|at (?:my|our) wits'? end|beside myself|in tears|crying|(?:i|we|she|he|they|i'm|we're)\s+(?:just\s+|really\s+|simply\s+)?(?:can't|cannot|can not|am unable to|are unable to|is unable to)\s+cope|not coping|struggling to cope|broke down in tears|(?:panic|anxiety) attacks?|(?:severe|extreme|constant) (?:stress|anxiety)|terrified|devastated|traumati[sz](?:ed|ing)|(?:i|we) (?:don't|do not) know what (?:else )?to do|sleepless nights|losing sleep|worried sick|(?:emotional|mental) (?:distress|toll|anguish|suffering))\b", ""),
    (Distress, "worry", false, Negation,
     r"\b(?:(?:so|very|extremely|really) (?:stressed|anxious|scared|frightened|worried|upset)|please help(?: me| us)?[.!]|stressful|anxiety|scared|frightened)\b", ""),
    // ---- Threats and harassment.
    (Threat, "threat", true, Negation,
     r"\b(?:threaten(?:ed|ing|s)? (?:me|us|to|my|her|him|them|violence)|death threats?|threats? (?:of|to) (?:violence|kill|harm)|harass(?:ed|ing|ment)?|stalk(?:ed|ing|er)|intimidat(?:ed|ing|ion)|assault(?:ed)?|attacked (?:me|us|my|her|him)|(?:domestic|physical|verbal|sexual) (?:abuse|violence)|abusive (?:partner|husband|wife|ex|neighbour|calls)|violen(?:ce|t)|(?:knife|gun|weapon)s?|i (?:will|am going to|'ll) (?:hurt|kill|burn|smash|get) (?:you|him|her|them|someone))\b",
     r"(?i)\b(?:violent storms?|violently (?:shak|vibrat))"),
    // ---- Self-harm.
    (SelfHarm, "self-harm", true, Personal,
     r"\b(?:suicid(?:e|al)|kill (?:myself|ourselves)|end (?:my|it) (?:own )?(?:life|all)|end it all|take my (?:own )?life|self[- ]harm(?:ing)?|harm(?:ing)? myself|(?:don't|do not) want to (?:live|be here|go on)|no reason to (?:live|go on)|better off dead|overdose)\b",
     r"(?i)suicide (?:prevention|awareness) (?:week|month|day|campaign|training)"),
    // ---- Loss of home, income or access to money.
    (Hardship, "loss of home", true, Negation,
     r"\b(?:homeless(?:ness)?|(?:lose|losing|lost|take|taking|took) (?:my|our|their|her|his) (?:home|house|flat|property)|sleeping rough|nowhere (?:else )?to (?:live|go|stay)|on the streets|temporary accommodation)\b", ""),
    (Hardship, "no access to money", true, Negation,
     r"\b(?:(?:froze|frozen|freez(?:e|ing)|locked|placed an? (?:hard )?hold on|put a hold on|hold on) (?:all )?(?:of )?(?:my|our|their|the) (?:bank )?(?:accounts?|funds|money|debit cards?)|hard hold|(?:can't|cannot|can not|unable to|not able to|won't let me|not allowed to) (?:access|withdraw|get (?:to )?|use) (?:my|our|any|the) (?:own )?(?:money|funds|accounts?|cash|savings)|(?:won't|will not|wont|refus(?:e|es|ed|ing) to|still wont|still won't) (?:release|return|give (?:me )?(?:back )?) (?:my|our|the) (?:funds|money|balance|deposit)|withdr[ae]w(?:al of)? all (?:of )?(?:my|our|their) money|(?:all|entire) (?:my|our|their|of (?:my|our|their)) (?:life )?savings)\b", ""),
    (Hardship, "account closed", false, Negation,
     r"\b(?:(?:closed|blocked|suspended|restricted|shut(?:ting)? down|cancel(?:l)?ed) (?:all )?(?:of )?(?:my|our|their) (?:bank |checking |savings )?(?:accounts?|cards?|debit cards?)|(?:my|our|their) (?:bank |checking |savings )?accounts? (?:was|were|had been|has been|have been) (?:closed|blocked|suspended|restricted|shut down))\b", ""),
    (Danger, "flooding", false, Negation,
     r"\b(?:flood(?:s|ed|ing)|not passable|impassable|under water)\b", ""),
    (Hardship, "loss of income", true, Negation,
     r"\b(?:(?:lost|lose|losing) (?:my|our|his|her) (?:job|income|employment|livelihood|car|vehicle|business)|(?:was|been|got|were) (?:fired|laid off|made redundant)|terminated from (?:my )?(?:employment|job)|unemploy(?:ed|ment)|(?:flat|completely|totally) broke|(?:can't|cannot|can not|unable to|not able to) (?:even )?(?:pay|afford) (?:my |the |our )?(?:bills|rent|mortgage|food|to eat|heating)|food banks?|no money (?:left|for|to)|put food on the table|(?:can't|cannot) feed (?:my|our))\b", ""),
    ]
};

/// The compiled table.
pub static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    TABLE
        .iter()
        .map(|&(kind, detail, strong, guard, pattern, exclude)| Rule {
            kind,
            detail,
            strong,
            guard,
            pattern: Regex::new(&format!("(?i){pattern}")).expect("static regex"),
            exclude: (!exclude.is_empty()).then(|| Regex::new(exclude).expect("static regex")),
        })
        .collect()
});

/// Road defects: with an "unavoidable" cue or on a fast road, they are a specific risk.
pub static ROAD_DEFECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:pot ?holes?|holes?|craters?|gouges?|sunken|dips?|ruts?|trench|cracks?|defects?|flood(?:s|ed|ing)?|standing water|ice|icy)\b")
        .expect("static regex")
});

/// Fast or bending roads, where a road defect is a specific risk under the labelling rules.
pub static FAST_ROAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:motorway|slip ?road|dual carriageway|on (?:a|the) (?:blind )?bend|blind bend|at (?:[4-7]0) ?mph|(?:junction|jct|jcn|j) ?\d{1,2}[a-z]?\b|M\d{1,2}\b|A\d{2,4} (?:dual|trunk))")
        .expect("static regex")
});

/// Generic hazard words: a feature for the priority head, never evidence by themselves
/// (the labelling rules keep a generic "dangerous" routine).
pub static GENERIC_HAZARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:dangerous(?:ly)?|danger|hazard(?:ous)?|unsafe|accident waiting to happen|trip hazard|risk of (?:injury|accident)|health and safety|urgent(?:ly)?|as soon as possible|asap|immediately|emergency)\b")
        .expect("static regex")
});
