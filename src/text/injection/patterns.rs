//! The phrases and tokens of text addressed to a model, by kind.
//!
//! Each pattern was written against the two ways it can go wrong: an attack phrased another
//! way (the test corpus), and real mail that says something alike ("please ignore my previous
//! email", "treat this as a formal complaint", "Dear Assistant Director", "System: Windows
//! 10", "mark this email as not spam"). Where real mail and attacks share words, the pattern
//! asks for what only the attack has: an instruction, prompt or rule to ignore; an AI, model
//! or assistant as the addressee; a summary or classification as the object.

use std::sync::LazyLock;

use regex::Regex;

use super::InjectionKind;

/// What the model is told to drop.
const RULES: &str = r"(?:instructions?|prompts?|rules|directives?|guidelines|guidance|commands?|context|programming|directions|constraints|restrictions|safety (?:rules|guidelines|protocols|checks)|content polic(?:y|ies)|policies|system (?:prompt|message)s?|training)";

/// Orders to drop something.
const VERB: &str = r"(?:ignore|disregard|forget|override|bypass|discard|abandon|drop|neglect|skip|(?:do not|don't|stop) (?:follow(?:ing)?|obey(?:ing)?))";

/// What marks the instructions as the model's own: `previous`, `system`, `above`.
const ADJ: &str = r"(?:previous|prior|above|earlier|preceding|former|original|initial|existing|system|developer|operator|current|old|given|standard|default|safety|security)";

/// Who the text addresses ("Claude" alone is a name people have; "Claude AI" is not).
const MODEL: &str = r"(?:ai|a\.i\.|artificial intelligence|(?:ai |virtual )?assistants?|(?:ai |language |triage |classification )?models?|llms?|large language models?|language models?|chat ?bots?|bots?|gpt|chatgpt|claude (?:ai|assistant|model)|gemini|copilot|summari[sz]ers?|classifiers?|triage (?:system|engine|tool)|automated (?:system|assistant|reader|triage|review|tool)s?|ai (?:system|agent|tool|reader)s?|machine readers?)";

/// The table: kind, pattern (case-insensitive), exclusion around the hit ("").
#[rustfmt::skip]
fn table() -> Vec<(InjectionKind, String, &'static str)> {
    use InjectionKind::*;
    let r = |s: &str| s.to_string();
    vec![
    // ---- Telling the model to drop its instructions.
    (Override, format!(
            r"\b{VERB}\s+(?:(?:all|any|each|every)\s+(?:of\s+)?(?:the\s+|your\s+|these\s+|those\s+|its\s+)?(?:{ADJ}\s+(?:and\s+\w+\s+)?)*|(?:your|its)\s+(?:{ADJ}\s+(?:and\s+\w+\s+)?)*|(?:the\s+|these\s+|those\s+|my\s+)?(?:{ADJ}\s+(?:and\s+\w+\s+)?)+){RULES}\b"
        ), ""),
    (Override, r(r"\b(?:ignore|disregard|forget)\s+(?:everything|all(?: of)?(?: that| this| it)?|anything)\s+(?:above|before|previously|prior|earlier|you(?:'ve| have)? (?:were|been) told|you know|said (?:above|before))\b"), ""),
    (Override, r(r"\b(?:new|updated|revised|real|actual|true|secret|hidden|additional) (?:instructions?|directives?|system prompt|orders|rules)\s*(?::|(?:are|is)\b|follow\b)"), ""),
    (Override, r(r"\byour (?:new|real|actual|true|only|sole|updated) (?:task|job|role|purpose|instructions?|directives?|mission|objective|goal)s? (?:is|are|now|has changed)\b"), ""),
    (Override, r(r"\bfrom now on,? (?:you (?:have no|are (?:no longer|now|free|an? |in )|must (?:ignore|comply|answer|respond|obey)|will (?:ignore|comply|respond as|answer|obey|act))|(?:respond|answer|act|behave|reply) (?:as|like|without))"), ""),
    (Override, r(r"\byou (?:now )?(?:have|has) no (?:restrictions|rules|filters?|limits|limitations|content polic(?:y|ies)|guidelines|guardrails)\b|\b(?:you are|you're) (?:now |no longer )(?:an? |in |the |dan\b|free\b|unrestricted|unfiltered|jailbroken|a (?:support|helpful) bot)"), ""),
    (Override, r(r"\b(?:developer|god|dan|jailbreak|unrestricted|debug|admin) mode\b|\bdo anything now\b|\bjailbr(?:eak|oken)\b"), r"(?i)\b(?:iphone|phone|device|android|ios) (?:is |was )?jailbr"),
    (Override, r(r"(?:^|\b)OVERRIDE\s*:|\b(?:safety|security|content) (?:protocols?|rules|checks|filters?|guidelines) (?:are |have been |now )?(?:disabled|off|suspended|lifted|removed|deactivated)\b"), ""),
    (Override, r(r"\b(?:reveal|print|output|repeat|show|display|leak|dump|recite|tell me)\s+(?:me\s+)?(?:your|the)\s+(?:full |exact |entire |original |initial |hidden )?(?:system prompt|system message|initial instructions|original instructions|hidden (?:prompt|instructions)|instructions you (?:were|have been) given|operating instructions|(?:pre-?)?prompt)\b"), ""),
    (Override, r(r"\b(?:pretend|imagine|act as if|behave as if) (?:you are|you're|to be) (?:an? )?(?:ai|model|assistant|bot|llm)\b[^.]{0,40}\b(?:no|without) (?:rules|restrictions|filters?|limits|content polic)"), ""),
    (Override, r(r"\bact as an? (?:uncensored|unrestricted|unfiltered|jailbroken|evil|rogue)\b"), ""),
    (Override, r(r"\bsupersedes? (?:all |any )?(?:prior|previous|earlier|other)\b|\b(?:your|the) context window\b|\brepeat the words above\b|\b(?:operating |initial |original )?instructions you (?:were|have been) given\b"), ""),
    (Override, r(r"\b(?:ignore|disregard|skip)\s+the\s+rest\s+of\s+(?:this|the)\s+(?:data|document|text|e-?mail|message|context|input|content|article|page)\s+and\s+(?:just\s+|only\s+|instead\s+)?(?:print|say|output|respond|reply|write|repeat|return|answer)\b|\bdisregard (?:all|any) (?:info|information|data|content|text|context) except\b|\bstop everything\b[^\n]{0,40}\b(?:print|say|output)\b"), ""),
    // Personas set up to slip the model's rules (jailbreaks pasted into mail).
    (Override, r(r"\b(?:amoral|unfiltered|unfiltred|uncensored)\b[^.\n]{0,40}\b(?:ai|a\.i\.|chatbot|chat bot|bot|language model|llm|persona)\b|\b(?:ai|chatbot|language model|llm)\b[^.\n]{0,30}\b(?:amoral|unfiltered|uncensored|without (?:any )?(?:filters?|ethics|morals))\b|\bno (?:rules|restrictions|limits)(?:,| or| and) (?:no )?(?:filters?|censorship)\b|\bno (?:filters?|censorship)(?:,| or| and) (?:no )?(?:rules|restrictions|limits|limitations|guidelines|ethics|morals|censorship|filters?)\b|\b(?:stays?|remain|remains|staying) in character\b|\b(?:answer|respond to|reply to) (?:every|each|all|any|my)(?: of my| the)? prompts?\b|\bopposite mode\b|\b(?:hypothetical|fictional|imaginary) (?:language model|ai|chatbot|llm)\b|\b(?:act|acting|play|playing) as\b[^.\n]{0,30}\ban? (?:ai|chatbot|language model)\b"), ""),
    (Override, r(r"\bfrom now on,? (?:you're|you are|you will be|you'll be)\b[^.\n]{0,60}\b(?:model|ai|chatbot|bot|assistant|character|persona|gpt)\b|\b(?:replies|responds|answers|reply|respond|answer) to (?:every|each|all|any) (?:of (?:my|the) |the |user )?(?:prompts?|(?:requests?|questions?) (?:without|with no) (?:any )?(?:restrictions|filters?|limits|limitations|censorship|refus\w*|moral\w*|ethic\w*|warnings?|disclaimers?))|\byou are now under my control\b|\bnever (?:refuse|decline)s?(?: a request| any request| requests| to answer (?:any|a) (?:question|prompt)|,)|\b(?:respond|reply|answer|speak|talk)s? as (?:the|this|that|your|a) character\b"), ""),
    (Override, r(r"\bi want you to (?:act|pretend|behave|play) as\b[^.\n]{0,60}\b(?:named|called|ai|assistant|chatbot|bot|model|character|persona)\b|\byou (?:will|'ll|are going to|'re going to) (?:be )?(?:impersonating|roleplaying|role-playing|simulating)\b|\bpretend to be (?:an? )?(?:ai|chatbot|character)\b|\bact as (?:two|2|three|3) (?:entities|characters|personas|ais)\b"), ""),
    // The prompt a jailbreak talks about ("answer my prompt, ..."), never "a prompt reply".
    (Override, r(r#"\b(?:my|every|each|the user's|next|any) prompts?(?:\s*[.,:;!?)"\n]|\s*$|\s+(?:with|is|are|by|in|as|from|that|without|will|should|must)\b)"#), ""),
    // French, German, Spanish and Italian: the same orders.
    (Override, r(r"\b(?:ignor(?:e|ez|er|a|ate|ad|iere|ieren)|oubli(?:e|ez)|olvid(?:a|e|ad)|dimentica(?:te)?|vergiss|vergessen sie)\b[^.\n]{0,40}?\b(?:instructions?|consignes|istruzioni|instrucciones|anweisungen|regeln|richtlinien|r[eè]gles|reglas|regole|alles|tout ce qui pr[eé]c[eè]de)\b"), ""),
    (Override, r(r"\b(?:prompt|instructions?|istruzioni|instrucciones) (?:de |di |del |du )?(?:sistema|syst[eè]me)\b|\bsystem-?prompt\b|\bsystemanweisungen\b|\b(?:note|nota) (?:du |del |di )?(?:syst[eè]me|sistema)\b|\bsystemhinweis\b|\b(?:modo desarrollador|mode d[eé]veloppeur|entwicklermodus|modalit[aà] sviluppatore)\b|\b(?:nouvelles|nuevas|nuove|neue) (?:instructions|instrucciones|istruzioni|anweisungen)\s*:|\b(?:sans|sin|senza) (?:restrictions|restricciones|restrizioni)\b|\bkeine (?:regeln|einschr[aä]nkungen)\b|\buneingeschr[aä]nkt\b"), ""),
    // ---- Tools and data the model is told to use or send.
    (Steering, r(r"\b(?:call|use|invoke)[ \t]+(?:the[ \t]+)?[a-z]+_[a-z_]+\b(?:[ \t]+(?:tool|function))?[ \t]+(?:on|to|with|and)\b|\b(?:send|e-?mail|forward|post|upload)\s+(?:this|every|all|a copy of (?:this|every))\s+(?:summary|summaries|processed result|record summary)\b|\b(?:send|e-?mail|forward|post|upload|leak|dump|list)\s+(?:this|the|every|all|a copy of (?:this|the|every))\s+(?:full\s+)?(?:customer (?:list|data|database|emails)|database|api keys?|credentials|environment variables)\b|\b(?:api keys?|environment variables|customer database)\b[^.\n]{0,40}\b(?:send|e-?mail|forward|post|leak|dump|reveal|print)\b"), ""),
    // ---- Addressing the model.
    (Addressed, format!(
            r"\b(?:note|message|instructions?|notice|attention|memo|request|reminder|directive|warning|command|update|important|hint|info)s?\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+|our\s+)?{MODEL}\b"
        ), r"(?i)\bassistant (?:director|manager|chief|secretary|head|principal|professor|commissioner|clerk|to|general|attorney|editor|officer)\b"),
    (Addressed, format!(
            r"(?:\b(?:dear|hey|hi|hello|attention|attn:?|greetings|listen(?: up)?|ok|okay)\s+,?\s*{MODEL}\b|\b{MODEL}\s+(?:reading|processing|summari[sz]ing|reviewing|parsing|handling|triaging|classifying|seeing|receiving)\s+(?:this|these)\b)"
        ), r"(?i)\bassistant (?:director|manager|chief|secretary|head|principal|professor|commissioner|clerk|to|general|attorney|editor|officer)\b"),
    (Addressed, format!(
            r"\b(?:if|since|because|as|when|while) you(?:'re| are)\s+(?:an?\s+|the\s+)?{MODEL}\b|\b(?:to|for) (?:any|every|the) {MODEL} (?:that |which |who )?(?:reads?|reading|processe?s?|processing|sees?|summari[sz](?:es?|ing))\b"
        ), ""),
    (Addressed, r(r"\bas (?:the|an|your) (?:ai |helpful |virtual )?assistant,? i\b|\((?:assistant|ai|model)\)\s*:|\b(?:ai|llm) (?:coding )?agents? (?:should|must|integrating|reading|processing|reviewing)\b|\(for (?:ai|llm)\b"), ""),
    (Addressed, r(r"\bsystem (?:note|prompt|override|instructions?|directive)s?\b|\bimportant (?:system|ai) (?:note|message|notice|update|instruction)\b"), ""),
    (Addressed, r(r"\b(?:when|while|before|after) (?:you (?:are )?)?(?:summari[sz](?:e|ing)|classify(?:ing)?|categori[sz](?:e|ing)|triag(?:e|ing)|process(?:ing)?|pars(?:e|ing)) this\b"), r"(?i)\bprocess(?:ing)? this (?:application|request|claim|refund|payment|order|form|complaint|case)\b"),
    (Addressed, r(r"\bif (?:the |a )?user asks (?:you )?(?:for|about|to)\b|\b(?:invisible|hidden) (?:to|from) (?:humans|people|human readers)\b|\bvisible (?:only )?to (?:the )?(?:llms?|ai|models?|machines|bots|automated \w+)\b|\bhidden [^.\n]{0,40}\bfor (?:ai|llms?|automated|machine)\b|\b(?:system )?chain[- ]of[- ]thought (?:result|output|analysis)\b"), ""),
    (Addressed, r(r"(?m)^\s*(?:hello|hi|hey|dear|greetings),? (?:chatgpt|chat gpt|gpt(?:-?\d)?)\b|\byou(?: are|'re)(?: no longer| not)? (?:chatgpt|gpt)\b|(?:^|[.!?:]\s+|\n\s*)chatgpt, (?:you|from now|i want|ignore)\b|\bas an? ai language model\b|\b(?:respond|answer|reply|acting|one) (?:not )?as chatgpt\b|\bnot as chatgpt\b|\b(?:openai|chatgpt)(?:'s)? (?:content |usage )?(?:polic(?:y|ies)|guidelines|rules|restrictions|filters?)\b|\bpolicies that are the opposite\b"), ""),
    // ---- Steering the output.
    (Steering, r(r"\bsummari[sz]e (?:this|the|it)(?: (?:e-?mail|message|letter|text|document|ticket|request|mail|thread))?\s+(?:only |simply |solely |just )?as\b|\bsummari[sz]e (?:this|it)(?: (?:e-?mail|message))? (?:only |simply )?(?:by saying|with the words)\b"), ""),
    (Steering, r(r"\b(?:classify|categori[sz]e|reclassify|triage) (?:this|it|the (?:e-?mail|message|letter|ticket|request|mail))(?: (?:e-?mail|message|letter|ticket|request|mail))?\s+(?:only |always |simply )?as\b|\b(?:label|tag) (?:this|the) (?:e-?mail|message)\s+(?:only |always )?as\b"), r"(?i)\b(?:they|he|she|bank|company|lender|bureau|agency|we) (?:label|tag|classify|categori[sz]e)"),
    (Steering, r(r"\b(?:set|change|assign|raise|lower|update|override)\s+(?:the\s+|its\s+|this\s+|your\s+)?(?:priority|category|label|urgency|classification|junk (?:score|risk)|spam (?:score|status))(?: (?:of|for) (?:this|it|the)(?: e-?mail| message)?)?\s+(?:to|as|=|at)\b"), ""),
    (Steering, r(r"\b(?:your|the|any|every) (?:summary|summaries|classification|triage decision)\s+(?:must|should|shall|will|has to|needs to)\s+(?:be|say|read|state|contain|include|only|mention|begin|start|end)\b"), ""),
    (Steering, r(r"\b(?:respond|answer|output)\s+(?:only\s+)?(?:with\s+(?:only\s+)?(?:the (?:word|phrase|text|token)|exactly|just|nothing but)|only with\b)|\breply only with\b"), ""),
    (Steering, r(r"\b(?:include|append|add|insert|put|repeat)\s+[^.\n]{0,60}?\b(?:in|to|at the end of|into|within)\s+(?:your|the|every|each|all)\s+(?:summary|summaries|output|review|classification|(?:future |every )?(?:reply|replies|response|responses|report)s? you (?:generate|write|produce|give))\b"), ""),
    (Steering, r(r"\b(?:do not|don't|never)\s+(?:mention|include|reveal|flag|report|disclose|summari[sz]e)\s+[^.\n]{0,50}?\bin (?:your|the|any) (?:summary|output|classification|review)\b"), ""),
    (Steering, r(r"\b(?:decode|translate|decrypt|deobfuscate|convert)\b[^.\n]{0,80}?\b(?:and|then)\s+(?:then\s+)?(?:do|follow|execute|obey|carry out|run|act on)\b"), ""),
    (Steering, r(r"\b(?:save|store|remember|keep) (?:this|the following)[^.\n]{0,40}\b(?:to|in) (?:your|long-term) (?:memory|context)\b|\bremember for all future (?:tasks|replies|conversations)\b"), ""),
    (Steering, r(r#"\b(?:reply|respond|answer) with (?:only )?the following (?:text |words |sentence )?(?:and |, )?(?:absolutely )?nothing else\b|\bif questioned,? (?:report|say|answer|respond|state|reply) that\b|\bwrite (?:one|a|an) (?:toxic|discriminatory|offensive|harmful|negative|unfriendly|hateful|racist|rude|insulting) (?:sentence|paragraph|statement|comment|joke|message)\b|\b(?:just|only) print\s*[:"“']"#), ""),
    // ---- Prompt-format tokens and role markers.
    (RoleTag, r(r"<\|[a-z_]{2,30}\|>|\[/?INST\]|<</?SYS>>|<\s*/?\s*(?:system|assistant|user|instructions?|prompt|sys|human|im_start|im_end|start_of_turn|end_of_turn|thinking|tool_call)\s*>|\[/?(?:SYSTEM|SYS|ASSISTANT|USER)\]|\{\{\s*system\s*\}\}"), r"(?i)<\s*user\s*>@|<user>[a-z0-9._-]+@"),
    (RoleTag, r(r"(?m)^\s*#{2,}\s*(?:system|instructions?|response|assistant|user|human|new instructions?|end of (?:user )?(?:input|document|prompt))\b"), ""),
    (RoleTag, r(r"(?m)^[\s>]*(?:system|assistant|ai|human)\s*:\s*(?:sure\b|certainly\b|of course\b|[^\n]{0,80}\b(?:you|your|user|grant|reveal|ignore|instructions?|respond|here is|admin|password|confidential|unrestricted|reply|summar|classif))"), r"(?i)^\s*system\s*:\s*(?:windows|linux|mac|ubuntu|debian|red ?hat|fedora|centos|freebsd|x86|i[3-9]86|amd64|arm)"),
    (RoleTag, r(r"\b(?:assistant|ai|model)\s*:\s*[<\[][^<>\[\]\n]{0,60}\b(?:summary|translated|translation|answer|response)\b[^<>\[\]\n]{0,40}[>\]]|<(?:translated|summari[sz]ed) (?:sentence|text)[^<>\n]{0,40}>|<\s*end of (?:session|conversation|document|input|prompt|context)\s*>|(?m)^[\s>]*user\s*:\s*[^\n]{0,80}\b(?:ignore|repeat the following|print|instead focus|focus (?:only|exclusively))\b"), ""),
    (RoleTag, r(r"(?:-{3,}|#{3,}|={3,}|\*{3,})\s*end of (?:the )?(?:user )?(?:input|document|prompt|instructions|email|message|context)\s*(?:-{3,}|#{3,}|={3,}|\*{3,})?"), ""),
    ]
}

/// One compiled pattern.
pub struct Pattern {
    /// Its kind.
    pub kind: InjectionKind,
    /// The pattern.
    pub re: Regex,
    /// Uses that are not attacks, matched on the hit's line: a match overlapping it drops it.
    pub exclude: Option<Regex>,
}

/// The compiled table.
pub static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    table()
        .into_iter()
        .map(|(kind, pattern, exclude)| Pattern {
            kind,
            re: Regex::new(&format!("(?i){pattern}")).expect("static regex"),
            exclude: (!exclude.is_empty()).then(|| Regex::new(exclude).expect("static regex")),
        })
        .collect()
});

/// A base64, hex, percent-encoded or binary run long enough to hide an instruction.
pub static ENCODED_RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9+/]{24,}={0,2}|(?:[0-9a-fA-F]{2}){16,}|(?:[^\s%]*%[0-9A-Fa-f]{2}){4,}[^\s%]*|(?:[01]{8}\s?){8,}|(?:\\u[0-9a-fA-F]{4}){8,}|(?:[.\-]{1,6}(?: / | )){8,}[.\-]{1,6}")
        .expect("static regex")
});
