#!/usr/bin/env python3
"""Mechanically moves long non-template member function bodies of named classes out of the
class (declaration stays, definition goes to the end of the enclosing namespace inside
`#if SBERT_DEFINITIONS`), and wraps long namespace-level `inline` functions in place.
usage: scripts/outline_compiled.py FILE [--classes A,B] [--free name1,name2] [--min N]"""
import re, sys, argparse

ap = argparse.ArgumentParser()
ap.add_argument('file')
ap.add_argument('--classes', default='')
ap.add_argument('--free', default='')
ap.add_argument('--min', type=int, default=5)
ap.add_argument('--skip', default='')
a = ap.parse_args()
classes = [c for c in a.classes.split(',') if c]
free = [c for c in a.free.split(',') if c]
skip = set(c for c in a.skip.split(',') if c)
lines = open(a.file).read().split('\n')


def split_top(s, sep=','):
    out, depth, cur, i = [], 0, '', 0
    while i < len(s):
        ch = s[i]
        if ch in '"\'':
            j = i + 1
            while s[j] != ch:
                j += 2 if s[j] == '\\' else 1
            cur += s[i:j + 1]; i = j + 1; continue
        if ch in '([{<':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        elif ch == '>' and not (i > 0 and s[i - 1] == '-'):
            depth -= 1
        if ch == sep and depth == 0:
            out.append(cur); cur = ''
        else:
            cur += ch
        i += 1
    out.append(cur)
    return out


def strip_default(p):
    depth = 0
    for i, ch in enumerate(p):
        if ch in '([{<': depth += 1
        elif ch in ')]}>': depth -= 1
        elif ch == '=' and depth == 0 and p[i + 1:i + 2] != '=' and p[i - 1] not in '=!<>':
            return p[:i].rstrip()
    return p


def find_name_paren(sig):
    depth = 0
    for i, ch in enumerate(sig):
        if ch == '(' and depth == 0:
            m = re.search(r'(~?\w+)\s*$', sig[:i])
            if m:
                return m.start(1), i
        if ch in '([{<': depth += 1
        elif ch in ')]}>': depth -= 1
    return None


def match_paren(s, i):
    depth = 0
    for j in range(i, len(s)):
        if s[j] == '(':
            depth += 1
        elif s[j] == ')':
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(s)


def ns_close_after(start, depth0):
    """index of the line closing the namespace that encloses line `start`"""
    depth = 0
    for i in range(start, len(lines)):
        l = lines[i]
        if re.match(r'^namespace [\w:]+ \{', l):
            depth += 1
        elif re.match(r'^\}\s*// namespace', l):
            if depth == 0:
                return i
            depth -= 1
    raise ValueError('no namespace close')


moved = {}  # insert-line -> [definition lines]
out_edits = []  # (start, end_inclusive, replacement lines)

for cls in classes:
    ci = next(i for i, l in enumerate(lines) if re.match(r'^\s*(class|struct) ' + cls + r'\b[^;]*\{\s*$', l))
    cind = len(lines[ci]) - len(lines[ci].lstrip())
    ind = ' ' * (cind + 2)
    cend = next(i for i in range(ci + 1, len(lines)) if lines[i] == ' ' * cind + '};')
    nested = set()
    for i in range(ci + 1, cend):
        m = re.match(ind + r'(?:struct|class|enum(?: class)?|using)\s+(\w+)', lines[i])
        if m: nested.add(m.group(1))
    defs = []
    i = ci + 1
    while i < cend:
        l = lines[i]
        if not l.startswith(ind) or l[len(ind)] in ' /}#' or re.match(r'\s*(public|private|protected):', l):
            i += 1; continue
        # accumulate signature
        j, sig_lines = i, []
        while True:
            sig_lines.append(lines[j])
            if lines[j].rstrip().endswith('{') or lines[j].rstrip().endswith(';') or lines[j].rstrip().endswith('}'):
                break
            j += 1
        last = lines[j].rstrip()
        sig = ' '.join(s.strip() for s in sig_lines)
        prev = lines[i - 1].strip()
        if not last.endswith('{') or '(' not in sig or re.match(r'(struct|class|enum|union|friend|using|template)\b', sig.strip()) \
                or prev.startswith('template') or 'operator' in sig or 'constexpr' in sig or '= [' in sig \
                or re.match(r'^(\[\[nodiscard\]\]\s*)?(static\s+)?auto\b', sig.strip()):
            # skip whole nested entity to its end
            if last.endswith('{'):
                k = j + 1
                while lines[k] != ind + '}' and lines[k] != ind + '};':
                    k += 1
                i = k + 1
            else:
                i = j + 1
            continue
        k = j + 1
        while lines[k] != ind + '}':
            k += 1
        body = lines[j + 1:k]
        np_ = find_name_paren(sig)
        if np_ is None or len(body) < a.min or sig[np_[0]:np_[1]].strip() in skip:
            i = k + 1; continue
        ns, ps = np_
        pe = match_paren(sig, ps)
        prefix, name, params = sig[:ns], sig[ns:ps].strip(), sig[ps + 1:pe]
        rest = sig[pe + 1:].rstrip()[:-1].rstrip()  # without the body '{'
        m = re.search(r'(^|\s):\s', ' ' + rest)
        quals, init = (rest, '') if not m else (rest[:m.start()].strip(), rest[m.start():].strip())
        # declaration: original text up to the mem-initializer / body brace
        if init:
            # find the line where the initializer starts (a line starting with ':')
            kk = next((t for t in range(i, j + 1) if lines[t].strip().startswith(':')), None)
            if kk is None:
                decl = [ind + sig[:pe + 1].strip() + (' ' + quals if quals else '') + '{']
            else:
                decl = lines[i:kk]
        else:
            decl = lines[i:j + 1]
        decl[-1] = re.sub(r'\s*\{$', '', decl[-1].rstrip()) + ';'
        pre = re.sub(r'\b(static|virtual|explicit|inline)\s+|\[\[nodiscard\]\]\s*', '', prefix).strip()
        for n in nested:
            pre = re.sub(r'(?<![:\w])' + n + r'\b', cls + '::' + n, pre)
        q = re.sub(r'\b(override|final)\b', '', quals).strip()
        ps_ = ', '.join(strip_default(p.strip()) for p in split_top(params)) if params.strip() else ''
        head = ('SBERT_INLINE ' + (pre + ' ' if pre else '') + cls + '::' + name + '(' + ps_ + ')' +
                (' ' + q if q else ''))
        if len(head) + 2 > 100 and ps_:
            base = head[:head.index(cls + '::' + name + '(') + len(cls + '::' + name + '(')]
            parts = [strip_default(p.strip()) for p in split_top(params)]
            hl, cur = [], base
            for n_, p in enumerate(parts):
                piece = p + (',' if n_ + 1 < len(parts) else ')' + (' ' + q if q else ''))
                if len(cur) + len(piece) + 2 > 100 and cur.strip() and not cur.endswith('('):
                    hl.append(cur.rstrip()); cur = ' ' * len(base) + piece + ' '
                else:
                    cur += piece + ' '
            hl.append(cur.rstrip())
        else:
            hl = [head]
        if init:
            hl.append('    ' + init)
        hl[-1] += ' {'
        dl = hl
        dl += [b[len(ind):] if b.startswith(ind) else b for b in body] + ['}', '']
        defs += dl
        out_edits.append((i, k, decl))
        i = k + 1
    close = ns_close_after(cend + 1, 0)
    moved.setdefault(close, []).extend(defs)

for fn in free:
    fi = next(i for i, l in enumerate(lines) if re.match(r'^(inline|\[\[nodiscard\]\] inline) .*\b' + fn + r'\(', l))
    j = fi
    while not lines[j].rstrip().endswith('{'):
        j += 1
    k = j + 1
    while lines[k] != '}':
        k += 1
    sig = lines[fi:j + 1]
    sig = [re.sub(r'\binline ', 'SBERT_INLINE ', sig[0], count=1)] + sig[1:]
    decl = [re.sub(r'\bSBERT_INLINE ', '', s) for s in sig]
    decl[-1] = re.sub(r'\s*\{$', '', decl[-1].rstrip()) + ';'
    rep = ['#if SBERT_DEFINITIONS'] + sig + lines[j + 1:k + 1] + ['#else'] + decl + ['#endif']
    out_edits.append((fi, k, rep))

# apply from bottom up
ops = [(s, e, r) for s, e, r in out_edits] + [(c, c - 1, ['#if SBERT_DEFINITIONS', ''] + d[:-1] + ['#endif  // SBERT_DEFINITIONS', '']) for c, d in moved.items() if d]
for s, e, r in sorted(ops, key=lambda t: -t[0]):
    lines[s:e + 1] = r
text = '\n'.join(lines)
if '#include <sbert/detail/compiled.hpp>' not in text:
    text = re.sub(r'(#pragma once\n)', r'\1#include <sbert/detail/compiled.hpp>\n', text, count=1)
open(a.file, 'w').write(text)
print(a.file, 'moved', sum(1 for _ in out_edits))
