//! HTML bodies to readable text. No network, no remote images, no scripts: the HTML is only
//! parsed and laid out as text. Links keep their target as text after the link words.

/// Width the renderer lays text out to. Wide enough that sentences are rarely wrapped, narrow
/// enough that table layout stays cheap.
const WIDTH: usize = 160;

/// Render `html` to text with the full renderer (html2text). Returns `None` when it fails.
pub fn html_to_text(html: &str) -> Option<String> {
    html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .string_from_read(html.as_bytes(), WIDTH)
        .ok()
}

/// Render an HTML body; over `max_html` bytes, or when the renderer fails, fall back to a
/// linear-time tag stripper and note it in `warnings`.
pub(super) fn render(html: &str, max_html: usize, warnings: &mut Vec<String>) -> String {
    if html.len() <= max_html {
        if let Some(text) = html_to_text(html) {
            return text;
        }
        push(warnings, "HTML renderer failed; tags stripped instead");
    } else {
        push(
            warnings,
            "HTML body over the render limit; tags stripped instead",
        );
    }
    strip_tags(html)
}

fn push(warnings: &mut Vec<String>, w: &str) {
    if !warnings.iter().any(|x| x == w) {
        warnings.push(w.to_string());
    }
}

/// Block-level tags after which a line break belongs.
const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "hr",
    "section",
    "article",
    "header",
    "footer",
];

/// A crude, linear-time HTML to text: drops tags, `<script>`/`<style>` content and comments,
/// breaks lines at block tags and decodes the common entities.
pub(crate) fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let close = format!("</{name}");
            rest = find_ci(rest, &close).map_or("", |i| {
                let r = &rest[i..];
                r.find('>').map_or("", |j| &r[j + 1..])
            });
            continue;
        }
        if BLOCK.contains(&name.as_str()) {
            out.push('\n');
        } else {
            out.push(' ');
        }
    }
    out.push_str(&decode_entities(rest));
    out
}

/// Case-insensitive ASCII find.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    hay.as_bytes()
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let end = rest[1..]
            .char_indices()
            .take(10)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i + 1);
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name.strip_prefix('#').and_then(|n| {
                    let v = match n.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok(),
                        None => n.parse().ok(),
                    };
                    v.and_then(char::from_u32)
                }),
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_links_as_text() {
        let t = html_to_text(
            "<html><body><p>Hello <b>there</b>.</p><p>See <a href=\"https://example.org/x\">our page</a>.</p></body></html>",
        )
        .unwrap();
        assert!(t.contains("Hello there."), "{t}");
        assert!(t.contains("our page"), "{t}");
        assert!(t.contains("https://example.org/x"), "{t}");
    }

    #[test]
    fn strips_tags_scripts_and_entities() {
        let t = strip_tags(
            "<p>A &amp; B</p><script>evil()</script><STYLE>x{}</style><!-- c -->Z&#233;&bogus",
        );
        assert_eq!(
            t.split_whitespace().collect::<Vec<_>>(),
            ["A", "&", "B", "Zé&bogus"]
        );
    }
}
