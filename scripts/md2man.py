#!/usr/bin/env python3
"""Turn kmbuild's per-area markdown docs into man(7) sections.

Usage: md2man.py FILE.md=TITLE... > sections.man
Each FILE becomes one .SH TITLE; its '## ' headings become .SS subsections and '###' headings
bold run-in paragraphs. Sections that only make sense in the repository (NAME, SEE ALSO,
tests) are left out.
Handles the subset the docs use: ##/### headings, paragraphs, '-' lists, fenced code,
pipe tables (rendered as indented rows), `code`, **bold**, *italic*. Text before the first
'## ' heading of a file (its title and introduction) is skipped.
"""
import re
import sys


def esc(s):
    s = s.replace('\\', '\\e')
    return s


def inline(s):
    s = esc(s)
    s = re.sub(r'`([^`]+)`', lambda m: '\\fB' + m.group(1).replace('-', '\\-') + '\\fR', s)
    s = re.sub(r'\*\*([^*]+)\*\*', r'\\fB\1\\fR', s)
    s = re.sub(r'(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])', r'\\fI\1\\fR', s)
    s = re.sub(r'\[([^\]]+)\]\([^)]+\)', r'\1', s)
    return s


def line_out(out, s):
    # A line starting with '.' or "'" would be read as a request.
    if s.startswith('.') or s.startswith("'"):
        s = '\\&' + s
    out.append(s)


SKIP = re.compile(r'^(NAME|SEE ALSO|TESTS?\b.*|\d+\. .*VERSION COMPARISON.*)$', re.I)


def convert(path, title, out):
    started = False
    skipping = False
    in_code = False
    text = []          # lines of the current paragraph or list item
    mode = ['p']       # 'p': paragraph (.PP), 'li': list item (.IP already written)

    def flush():
        if text:
            if mode[0] == 'p':
                out.append('.PP')
            line_out(out, inline(' '.join(text)))
            text.clear()
        mode[0] = 'p'

    with open(path, encoding='utf-8') as f:
        for raw in f:
            l = raw.rstrip('\n')
            if l.startswith('## '):
                flush()
                if not started:
                    out.append('.SH ' + esc(title.upper()))
                started = True
                head = re.sub(r'\s*\(man-page section\)', '', l[3:].strip())
                skipping = bool(SKIP.match(head))
                if not skipping:
                    out.append('.SS ' + inline(head.replace('`', '')))
                continue
            if not started or skipping:
                continue
            if l.startswith('```'):
                flush()
                out.extend(['.RS 4', '.nf'] if not in_code else ['.fi', '.RE'])
                in_code = not in_code
                continue
            if in_code:
                line_out(out, esc(l))
                continue
            if l.startswith('#'):
                flush()
                out.append('.PP')
                line_out(out, '\\fB' + inline(l.lstrip('#').strip().replace('`', '')) + '\\fR')
                continue
            if re.match(r'^\|[-:| ]+\|$', l):
                continue
            if l.startswith('|'):
                flush()
                cells = [inline(c.strip()) for c in l.strip('|').split('|')]
                out.append('.IP "" 2')
                line_out(out, ' \\(em '.join(c for c in cells if c))
                continue
            m = re.match(r'^(\s*)([-*]|\d+\.) (.*)$', l)
            if m:
                flush()
                bullet = m.group(2)
                out.append('.IP \\(bu 2' if bullet in '-*' else '.IP %s 4' % bullet)
                mode[0] = 'li'
                text.append(m.group(3))
                continue
            if not l.strip():
                flush()
                continue
            text.append(l.strip())
        flush()


def main():
    out = []
    for arg in sys.argv[1:]:
        path, _, title = arg.partition('=')
        convert(path, title or path, out)
    sys.stdout.write('\n'.join(x for x in out) + '\n')


if __name__ == '__main__':
    main()
