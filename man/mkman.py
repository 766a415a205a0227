#!/usr/bin/env python3
"""mkman.py: the generated man pages, so that each has one source of truth.

    mkman.py conf DOC.md OUT VERSION   machnet.conf(5) from docs/CONFIG.md
    mkman.py api HEADER OUT VERSION    libmachnet(3) from secondary-lib/machnet.h

`conf` converts the subset of Markdown the reference is written in
(headings, paragraphs, tables, indented or fenced code, "- " lists, inline
code, bold, italics, links); `api` takes the header's first comment as the
description, every machnet_* prototype with the comment above it, the data
types verbatim, and builds the errno list from the E* names the comments
give. Both write plain man(7) that `groff -ww -man -z` accepts without a
warning. The date is $SOURCE_DATE_EPOCH's (reproducible builds), else the
source file's modification time.
"""
import datetime
import os
import re
import sys


def page_date(src):
    t = os.environ.get("SOURCE_DATE_EPOCH")
    ts = int(t) if t else int(os.stat(src).st_mtime)
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")


# Characters outside ASCII that have an ASCII spelling: every output device
# (man renders with -Tascii in the C locale) can show them.
ASCII = {"\u00b7": "*", "\u00d7": "x", "\u00b1": "+-", "\u00b5": "u", "\u2264": "<=",
         "\u2265": ">=", "\u2192": "->", "\u2013": "-", "\u2014": "--", "\u2018": "'",
         "\u2019": "'", "\u201c": '"', "\u201d": '"'}


def esc(text):
    """Escapes plain text for roff: backslashes, and characters outside ASCII
    (groff reads its input as Latin-1) by their ASCII spelling, else as
    \\[uXXXX] glyphs."""
    out = []
    for ch in text.replace("\\", "\\e"):
        if ch in ASCII:
            out.append(ASCII[ch])
        elif ord(ch) > 126:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def line_safe(s):
    """A text line must not start with a control character."""
    s = s.strip()
    if s.startswith((".", "'")):
        s = "\\&" + s
    return s


INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|\*([^*\s][^*]*?)\*|\[([^\]]+)\]\(([^)]+)\)")


def inline(text):
    """Markdown inline markup to roff fonts."""
    out, pos = [], 0
    for m in INLINE.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append("\\fB" + esc(m.group(1)) + "\\fR")
        elif m.group(2) is not None:
            out.append("\\fB" + inline(m.group(2)) + "\\fR")
        elif m.group(3) is not None:
            out.append("\\fI" + inline(m.group(3)) + "\\fR")
        else:
            out.append(inline(m.group(4)))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def code_lines(lines):
    res = [".PP", ".RS 4", ".nf"]
    res += [line_safe(esc(x.rstrip())) if x.strip() else "" for x in lines]
    res += [".fi", ".RE"]
    # an empty line inside .nf is a blank line, which -ww accepts; keep none
    return [r if r != "" else ".sp" for r in res]


def cells(row):
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|"):
        row = row[:-1]
    return [c.strip() for c in row.split("|")]


def table(rows):
    """A Markdown table as tagged paragraphs: the first column is the tag,
    the middle columns 'header: value', the last column the body."""
    head = cells(rows[0])
    res = []
    for r in rows[2:]:
        c = cells(r)
        c += [""] * (len(head) - len(c))
        res.append(".TP")
        res.append(line_safe(inline(c[0])))
        mid = ["%s: %s" % (esc(h), inline(v)) for h, v in zip(head[1:-1], c[1:-1]) if v]
        last = c[-1] if len(c) > 1 else ""
        if mid:
            res.append(line_safe("; ".join(mid) + "."))
            if last:
                res.append(".br")
        if last:
            res.append(line_safe(inline(last)))
    return res


def md_to_man(md_lines):
    """Body of a page: the Markdown after its first heading."""
    res = []
    i, n = 0, len(md_lines)
    para = []

    def flush():
        if para:
            res.append(".PP")
            res.append(line_safe(inline(" ".join(p.strip() for p in para))))
            para.clear()

    while i < n:
        ln = md_lines[i].rstrip("\n")
        if ln.startswith("```"):
            flush()
            j = i + 1
            while j < n and not md_lines[j].startswith("```"):
                j += 1
            res += code_lines(md_lines[i + 1:j])
            i = j + 1
            continue
        if ln.startswith("### "):
            flush()
            res.append(".SS " + inline(ln[4:].strip()))
        elif ln.startswith("## "):
            flush()
            res.append(".SH " + inline(ln[3:].strip().upper()))
        elif ln.startswith("# "):
            flush()
        elif not ln.strip():
            flush()
        elif ln.startswith("    ") and not para:
            j = i
            block = []
            while j < n and (md_lines[j].startswith("    ") or not md_lines[j].strip()):
                block.append(md_lines[j][4:])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            res += code_lines(block)
            i = j
            continue
        elif ln.lstrip().startswith("|") and not para:
            j = i
            while j < n and md_lines[j].lstrip().startswith("|"):
                j += 1
            res += table(md_lines[i:j])
            i = j
            continue
        elif ln.startswith("- "):
            flush()
            item = [ln[2:]]
            j = i + 1
            while j < n and md_lines[j].startswith("  ") and md_lines[j].strip():
                item.append(md_lines[j])
                j += 1
            res.append(".IP \\(bu 2")
            res.append(line_safe(inline(" ".join(x.strip() for x in item))))
            i = j
            continue
        elif ln.startswith("  ") and res and res[-2:-1] == [".IP \\(bu 2"] and not para:
            # an indented paragraph after a list item belongs to it
            res.append(".IP \"\" 2")
            para.append(ln)
        else:
            para.append(ln)
        i += 1
    flush()
    return res


def page_conf(src, out, version):
    with open(src, encoding="utf-8") as f:
        md = f.readlines()
    title = next((x[2:].strip() for x in md if x.startswith("# ")), "machnetd configuration")
    body = md_to_man(md)
    # The text before the first "##" is the description.
    lines = [
        '.TH MACHNET.CONF 5 "%s" "machnet-mp %s" "File Formats"' % (page_date(src), version),
        ".SH NAME",
        "machnet.conf \\- %s" % esc(title[0].lower() + title[1:]),
        ".SH SYNOPSIS",
        "\\fB/etc/machnet/\\fR\\fIinstance\\fR\\fB.conf\\fR",
        ".SH DESCRIPTION",
        ".PP",
        "This page is generated from \\fBdocs/CONFIG.md\\fR of the source tree.",
    ]
    lines += body
    lines += [".SH SEE ALSO", ".BR machnetd (8),", ".BR libmachnet (3),", ".BR machnet-stat (1)"]
    write(out, lines)


# ---- api ----

PROTO = re.compile(r"^[A-Za-z_][\w\s\*]*?\b(machnet_\w+)\s*\(")
ERRNO = re.compile(r"\bE[A-Z]{3,}\b")


def comment_text(block):
    """The lines of a /* ... */ block without the comment markers."""
    res = []
    for ln in block:
        s = ln.rstrip()
        s = re.sub(r"^\s*/\*+ ?", "", s)
        s = re.sub(r"\s*\*+/\s*$", "", s)
        s = re.sub(r"^\s*\* ?", "", s)
        res.append(s)
    while res and not res[0].strip():
        res.pop(0)
    while res and not res[-1].strip():
        res.pop()
    return res


def prose(text_lines):
    """Comment prose to roff: paragraphs, and indented 'NAME  meaning'
    lists (the errno tables of the header) as tagged paragraphs."""
    res, para = [], []
    item = None

    def flush():
        nonlocal item
        if para:
            res.append(".PP" if item is None else ".IP \"\" 4")
            res.append(line_safe(esc(" ".join(p.strip() for p in para))))
            para.clear()

    for ln in text_lines:
        m = re.match(r"^  (\S+)\s{2,}(.*)$", ln)
        if not ln.strip():
            flush()
            item = None
        elif m:
            flush()
            item = m.group(1)
            res += [".TP", "\\fB" + esc(item) + "\\fR", line_safe(esc(m.group(2)))]
        elif item is not None and ln.startswith("    "):
            res.append(line_safe(esc(ln.strip())))
        else:
            if item is not None and not para:
                item = None
            para.append(ln)
    flush()
    return res


def parse_header(src):
    with open(src, encoding="utf-8") as f:
        lines = f.readlines()
    intro, funcs, types, errs = None, [], [], {}
    i, n = 0, len(lines)
    last_comment, last_end = None, -2
    while i < n:
        ln = lines[i]
        if ln.lstrip().startswith("/*"):
            j = i
            while "*/" not in lines[j]:
                j += 1
            block = comment_text(lines[i:j + 1])
            if intro is None:
                intro = block
            else:
                last_comment, last_end = block, j
            i = j + 1
            continue
        m = PROTO.match(ln)
        if m and not ln.startswith(("#", "typedef", "struct", "enum")):
            j = i
            while ";" not in lines[j]:
                j += 1
            proto = " ".join(x.strip() for x in lines[i:j + 1])
            doc = last_comment if last_end == i - 1 else []
            funcs.append((m.group(1), proto, doc))
            for e in ERRNO.findall(" ".join(doc)):
                errs.setdefault(e, []).append(m.group(1))
            i = j + 1
            continue
        if re.match(r"^(typedef|struct|enum|#define)\b", ln) and "MACHNET_H" not in ln:
            j = i
            if "{" in ln:
                depth = 0
                while True:
                    depth += lines[j].count("{") - lines[j].count("}")
                    if depth <= 0 and ";" in lines[j]:
                        break
                    j += 1
            doc = last_comment if last_end == i - 1 else []
            types.append((doc, [x.rstrip("\n").replace("\t", "        ") for x in lines[i:j + 1]]))
            i = j + 1
            continue
        i += 1
    intro = intro or []
    for e in ERRNO.findall(" ".join(intro)):
        errs.setdefault(e, [])
    # "machnet.h: what it is" names the file, which the page already does.
    if intro and re.match(r"^\S+\.h: ", intro[0]):
        intro[0] = intro[0].split(": ", 1)[1]
        intro[0] = intro[0][0].upper() + intro[0][1:]
    return intro, funcs, types, errs


def page_api(src, out, version):
    intro, funcs, types, errs = parse_header(src)
    lines = [
        '.TH LIBMACHNET 3 "%s" "machnet-mp %s" "Library Functions Manual"' % (page_date(src), version),
        ".SH NAME",
        ", ".join(["libmachnet"] + [f[0] for f in funcs]) + " \\- messaging through machnetd",
        ".SH LIBRARY",
        "machnet-mp application library (\\fIlibmachnet\\fR, \\fI\\-lmachnet\\fR)",
        ".SH SYNOPSIS",
        ".nf",
        "\\fB#include <machnet.h>\\fR",
        ".sp",
    ]
    for _, proto, _ in funcs:
        lines.append(line_safe("\\fB" + esc(proto) + "\\fR"))
    lines += [
        ".fi",
        ".PP",
        "Compile and link with",
        "\\fBcc app.c $(pkg\\-config \\-\\-cflags \\-\\-libs libmachnet)\\fR.",
        ".SH DESCRIPTION",
    ]
    lines += prose(intro)
    lines.append(".SH FUNCTIONS")
    for name, proto, doc in funcs:
        lines += [".SS " + esc(name) + "()", ".nf", line_safe("\\fB" + esc(proto) + "\\fR"), ".fi"]
        lines += prose(doc) if doc else [".PP", "(undocumented in the header)"]
    lines.append(".SH DATA TYPES")
    for doc, code in types:
        if doc:
            lines += prose(doc)
        lines += code_lines(code)
    lines += [".SH ERRORS", ".PP",
              "Every call fails with \\-1 (or NULL) and \\fIerrno\\fR set. "
              "The errno values the header names, with the calls whose "
              "descriptions above give them (the common ones, listed in "
              "DESCRIPTION, can come from every call that takes a channel):"]
    for e in sorted(errs):
        who = sorted(set(errs[e]))
        lines += [".TP", "\\fB" + e + "\\fR",
                  (", ".join("\\fB" + w + "\\fR()" for w in who) if who else "common")]
    lines += [".SH ENVIRONMENT", ".TP", "\\fBMACHNET_INSTANCE\\fR",
              "The machnetd instance that \\fBmachnet_init\\fR() joins (default \\fBmn0\\fR).",
              ".SH SEE ALSO", ".BR machnetd (8),", ".BR machnet.conf (5),",
              ".BR msg_gen (1),", ".BR machnet-stat (1)"]
    write(out, lines)


def write(out, lines):
    text = "\n".join(lines) + "\n"
    # roff treats an empty line as a blank line and -ww warns on none, but
    # a page without them reads the same everywhere.
    text = re.sub(r"\n\n+", "\n", text)
    with open(out, "w", encoding="ascii") as f:
        f.write(text)


def main(argv):
    if len(argv) != 5 or argv[1] not in ("conf", "api"):
        sys.stderr.write(__doc__)
        return 2
    (page_conf if argv[1] == "conf" else page_api)(argv[2], argv[3], argv[4])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
