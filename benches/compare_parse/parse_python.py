"""Python baseline for `benches/compare_parse`: parse + prepare with the standard library.

For each file: email.message_from_bytes(policy=policy.default), get_body(("plain", "html")),
get_content() (charset and transfer decoding), HTML to text with html.parser when the body is
HTML, the attachment list (name, type, size), and whitespace normalisation. Prints one JSON line
with the figures on stdout. Standard library only, so it runs anywhere Python 3 does.
"""

import email
import json
import sys
import time
from email import policy
from html.parser import HTMLParser


class _Text(HTMLParser):
    BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul",
             "ol", "blockquote", "pre", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BLOCK:
            self.out.append("\n")
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.out.append(f" [{href}] ")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        elif tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def html_to_text(html):
    p = _Text()
    try:
        p.feed(html)
        p.close()
    except Exception:
        pass
    return "".join(p.out)


def normalise(text):
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out, blank = [], False
    for line in lines:
        if not line:
            blank = bool(out)
            continue
        if blank:
            out.append("")
        out.append(line)
        blank = False
    return "\n".join(out)


def parse_one(raw):
    if raw.startswith(b"From "):
        nl = raw.find(b"\n")
        raw = raw[nl + 1:] if nl >= 0 else b""
    msg = email.message_from_bytes(raw, policy=policy.default)
    header = {k: str(msg.get(k, "")) for k in ("from", "to", "cc", "subject", "date",
                                                 "message-id")}
    body = ""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is not None:
        content = part.get_content()
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        body = html_to_text(content) if part.get_content_type() == "text/html" else content
    attachments = []
    for att in msg.iter_attachments():
        payload = att.get_payload(decode=True) or b""
        attachments.append((att.get_filename(), att.get_content_type(), len(payload)))
    return header, normalise(body), attachments


def main():
    paths = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    total_bytes, errors = 0, 0
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as f:
            raw = f.read()
        total_bytes += len(raw)
        try:
            parse_one(raw)
        except Exception:
            errors += 1
    secs = time.perf_counter() - start
    print(json.dumps({"messages": len(paths), "errors": errors, "bytes": total_bytes,
                      "seconds": secs}))


if __name__ == "__main__":
    main()
