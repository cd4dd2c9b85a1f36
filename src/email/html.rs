//! HTML bodies to readable text. No network, no remote images, no scripts: the HTML is only
//! scanned and its text laid out in lines.
//!
//! A single linear pass, forgiving of any malformed input: text nodes with whitespace collapsed
//! (kept inside `<pre>`), line breaks at block elements, list items as `- `, table cells
//! separated, links as `text <url>`, `<script>`, `<style>`, `<head>` and comments dropped,
//! entities decoded. A full HTML5 parser and layout engine (html2text over html5ever) gave
//! much the same text for the models at about 20 times the cost, which was 40 % of
//! parse + prepare time on the SpamAssassin corpus (see `benches/compare_parse`).

/// Elements whose content is never text for a reader.
const SKIP: &[&str] = &[
    "script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe",
];

/// Elements that start and end a block (a line of their own).
const BLOCK: &[&str] = &[
    "p",
    "div",
    "tr",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "hr",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "form",
    "fieldset",
    "address",
    "center",
    "figure",
    "figcaption",
    "caption",
    "body",
    "html",
];

/// Render `html` to text.
pub fn html_to_text(html: &str) -> String {
    let mut r = Renderer::default();
    r.run(html);
    r.finish()
}

#[derive(Default)]
struct Renderer {
    out: String,
    /// A space is due before the next word.
    space: bool,
    /// Inside `<pre>` (depth).
    pre: usize,
    /// Current link target and where its text starts in `out`.
    link: Option<(String, usize)>,
}

impl Renderer {
    fn run(&mut self, html: &str) {
        let bytes = html.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let Some(lt) = memchr(b'<', &bytes[i..]).map(|p| p + i) else {
                self.text(&html[i..]);
                break;
            };
            if lt > i {
                self.text(&html[i..lt]);
            }
            i = lt;
            let rest = &html[i..];
            if let Some(comment) = rest.strip_prefix("<!--") {
                i += comment.find("-->").map_or(rest.len(), |p| p + 7);
                continue;
            }
            if rest.starts_with("<!") || rest.starts_with("<?") {
                i += rest.find('>').map_or(rest.len(), |p| p + 1);
                continue;
            }
            let second = rest.as_bytes().get(1).copied().unwrap_or(b' ');
            if !(second.is_ascii_alphabetic() || second == b'/') {
                // A lone `<` in text.
                self.text("<");
                i += 1;
                continue;
            }
            let end = tag_end(rest);
            // `end` is just past an ASCII `>`, or the end of input for an unclosed tag.
            let tag = if rest[..end].ends_with('>') {
                &rest[1..end - 1]
            } else {
                &rest[1..end]
            };
            i += end;
            let closing = tag.starts_with('/');
            let body = tag.trim_start_matches('/');
            let name_len = body
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            let name = body[..name_len].to_ascii_lowercase();
            if !closing && SKIP.contains(&name.as_str()) && !tag.ends_with('/') {
                // Skip to the matching close tag.
                let close = format!("</{name}");
                i += find_ci(&html[i..], &close).map_or(html.len() - i, |p| {
                    let after = &html[i + p..];
                    p + after.find('>').map_or(after.len(), |q| q + 1)
                });
                continue;
            }
            self.tag(&name, closing, body);
        }
    }

    fn tag(&mut self, name: &str, closing: bool, tag: &str) {
        match name {
            "br" => self.newline(),
            "li" if !closing => {
                if !self.out.is_empty() && !self.out.ends_with('\n') {
                    self.out.push('\n');
                }
                self.out.push_str("- ");
                self.space = false;
            }
            "td" | "th" if !closing => self.space = true,
            "pre" => {
                self.block();
                if closing {
                    self.pre = self.pre.saturating_sub(1);
                } else {
                    self.pre += 1;
                }
            }
            "a" if !closing => {
                self.link = attribute(tag, "href").map(|h| (h, self.out.len()));
            }
            "a" => {
                if let Some((href, start)) = self.link.take() {
                    self.link_target(&href, start);
                }
            }
            "img" => {
                if let Some(alt) = attribute(tag, "alt").filter(|a| !a.trim().is_empty()) {
                    self.text(&alt);
                }
            }
            _ if BLOCK.contains(&name) => self.block(),
            _ => {}
        }
    }

    /// After a link's text: append the target unless the text already shows it.
    fn link_target(&mut self, href: &str, start: usize) {
        let href = href.trim();
        let lower = href.to_ascii_lowercase();
        if href.is_empty()
            || href.starts_with('#')
            || lower.starts_with("javascript:")
            || lower.starts_with("mailto:")
            || lower.starts_with("tel:")
            || lower.starts_with("cid:")
        {
            return;
        }
        let shown = self.out.get(start..).unwrap_or("");
        let bare = href
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        if shown.contains(bare) {
            return;
        }
        if !self.out.ends_with([' ', '\n']) && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.out.push('<');
        self.out.push_str(href);
        self.out.push('>');
        self.space = false;
    }

    fn text(&mut self, raw: &str) {
        let decoded = decode_entities(raw);
        if self.pre > 0 {
            self.out.push_str(&decoded);
            self.space = false;
            return;
        }
        for c in decoded.chars() {
            if c.is_whitespace() {
                self.space = true;
                continue;
            }
            if self.space && !self.out.is_empty() && !self.out.ends_with([' ', '\n']) {
                self.out.push(' ');
            }
            self.space = false;
            self.out.push(c);
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.space = false;
    }

    /// A block boundary: start a new paragraph unless one was just started.
    fn block(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            if !self.out.ends_with('\n') {
                self.out.push('\n');
            }
            self.out.push('\n');
        }
        self.space = false;
    }

    fn finish(self) -> String {
        self.out.trim().to_string()
    }
}

/// Index just past the `>` that ends the tag at the start of `s`, ignoring `>` in quotes.
fn tag_end(s: &str) -> usize {
    let mut quote: Option<u8> = None;
    for (i, &b) in s.as_bytes().iter().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// The value of attribute `name` in a tag's text, entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let bytes = tag.as_bytes();
    let mut from = 0;
    while let Some(p) = find_ci(&tag[from..], name).map(|p| p + from) {
        from = p + name.len();
        let before_ok = p > 0 && bytes[p - 1].is_ascii_whitespace();
        let rest = tag[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let rest = rest[1..].trim_start();
        let value = match rest.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => {
                let inner = &rest[1..];
                &inner[..inner.find(q as char).unwrap_or(inner.len())]
            }
            _ => &rest[..rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len())],
        };
        return Some(decode_entities(value).into_owned());
    }
    None
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Case-insensitive ASCII find.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    if n.is_empty() || hay.len() < n.len() {
        return None;
    }
    let first = n[0].to_ascii_lowercase();
    hay.as_bytes()
        .windows(n.len())
        .position(|w| w[0].to_ascii_lowercase() == first && w.eq_ignore_ascii_case(n))
}

/// Named entities found in real mail; the rest are numeric or left as written.
const ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("hellip", '…'),
    ("mdash", '—'),
    ("ndash", '–'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("sbquo", '‚'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("bdquo", '„'),
    ("bull", '•'),
    ("middot", '·'),
    ("euro", '€'),
    ("pound", '£'),
    ("yen", '¥'),
    ("cent", '¢'),
    ("sect", '§'),
    ("para", '¶'),
    ("deg", '°'),
    ("plusmn", '±'),
    ("times", '×'),
    ("divide", '÷'),
    ("frac12", '½'),
    ("frac14", '¼'),
    ("frac34", '¾'),
    ("laquo", '«'),
    ("raquo", '»'),
    ("iexcl", '¡'),
    ("iquest", '¿'),
    ("shy", '\u{ad}'),
    ("zwnj", '\u{200c}'),
    ("zwj", '\u{200d}'),
    ("ensp", ' '),
    ("emsp", ' '),
    ("thinsp", ' '),
    ("szlig", 'ß'),
    ("aelig", 'æ'),
    ("AElig", 'Æ'),
    ("oelig", 'œ'),
    ("OElig", 'Œ'),
    ("oslash", 'ø'),
    ("Oslash", 'Ø'),
    ("aring", 'å'),
    ("Aring", 'Å'),
    ("ccedil", 'ç'),
    ("Ccedil", 'Ç'),
    ("ntilde", 'ñ'),
    ("Ntilde", 'Ñ'),
    ("eth", 'ð'),
    ("thorn", 'þ'),
    ("micro", 'µ'),
    ("ordf", 'ª'),
    ("ordm", 'º'),
    ("rarr", '→'),
    ("larr", '←'),
];

/// Accented vowels: `&eacute;` and the like, built from the base letter and the accent name.
fn accented(name: &str) -> Option<char> {
    let mut chars = name.chars();
    let base = chars.next()?;
    let accent = chars.as_str();
    let table: &[(char, [char; 6])] = &[
        // base: acute, grave, circ, uml, tilde, (unused)
        ('a', ['á', 'à', 'â', 'ä', 'ã', 'a']),
        ('e', ['é', 'è', 'ê', 'ë', 'e', 'e']),
        ('i', ['í', 'ì', 'î', 'ï', 'i', 'i']),
        ('o', ['ó', 'ò', 'ô', 'ö', 'õ', 'o']),
        ('u', ['ú', 'ù', 'û', 'ü', 'u', 'u']),
        ('y', ['ý', 'y', 'y', 'ÿ', 'y', 'y']),
        ('A', ['Á', 'À', 'Â', 'Ä', 'Ã', 'A']),
        ('E', ['É', 'È', 'Ê', 'Ë', 'E', 'E']),
        ('I', ['Í', 'Ì', 'Î', 'Ï', 'I', 'I']),
        ('O', ['Ó', 'Ò', 'Ô', 'Ö', 'Õ', 'O']),
        ('U', ['Ú', 'Ù', 'Û', 'Ü', 'U', 'U']),
        ('Y', ['Ý', 'Y', 'Y', 'Y', 'Y', 'Y']),
    ];
    let k = match accent {
        "acute" => 0,
        "grave" => 1,
        "circ" => 2,
        "uml" => 3,
        "tilde" => 4,
        _ => return None,
    };
    let (_, forms) = table.iter().find(|(b, _)| *b == base)?;
    Some(forms[k]).filter(|c| *c != base)
}

/// Decode character references; unknown ones stay as written.
pub(crate) fn decode_entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest[1..]
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';' || c.is_whitespace() || c == '&')
            .filter(|&(_, c)| c == ';')
            .map(|(i, _)| i + 1);
        let decoded = semi.and_then(|e| {
            let name = &rest[1..e];
            let c = match name.strip_prefix('#') {
                Some(n) => {
                    let v = match n.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok(),
                        None => n.parse().ok(),
                    };
                    // Numeric references in the C1 range mean Windows-1252, as browsers read them.
                    v.map(|v| match v {
                        0x80..=0x9f => {
                            char::from_u32(v).map_or(v, |c| super::charset::cp1252_c1(c) as u32)
                        }
                        _ => v,
                    })
                    .and_then(char::from_u32)
                    .filter(|c| *c != '\0')
                }
                None => ENTITIES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, c)| *c)
                    .or_else(|| accented(name)),
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_paragraphs_lists_and_links() {
        let t = html_to_text(
            "<html><head><title>T</title><style>p{}</style></head><body><p>Hello <b>there</b>.</p>\
             <ul><li>one</li><li>two</li></ul><p>See <a href=\"https://example.org/x\">our page</a>.\
             <br>Next&nbsp;line &amp; more &eacute;t&eacute;</p><!-- hidden --><script>evil()</script>\
             <table><tr><td>a</td><td>b</td></tr></table></body></html>",
        );
        assert_eq!(
            t,
            "Hello there.\n\n- one\n- two\n\nSee our page <https://example.org/x>.\nNext line & more été\n\na b"
        );
    }

    #[test]
    fn survives_malformed_html() {
        for s in [
            "<",
            "<a href=\"x",
            "<p",
            "&#xffffffff;",
            "&",
            "<script>",
            "<<>>",
            "<a\u{e9}>",
            "</",
            "&#128;",
        ] {
            let _ = html_to_text(s);
        }
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(html_to_text("<p title='x>y'>z</p>"), "z");
        assert_eq!(html_to_text("&#150;&#x20AC;"), "–€");
    }

    #[test]
    fn link_text_showing_the_url_is_not_repeated() {
        assert_eq!(
            html_to_text("<a href=\"https://example.org/\">example.org</a>"),
            "example.org"
        );
        assert_eq!(html_to_text("<a href=\"mailto:a@b\">write</a>"), "write");
    }
}
