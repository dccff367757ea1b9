#!/usr/bin/env python3
"""Tree parity: Trawl's libxml2-style HTML tree builder against lxml through parsel.

For each page, compares a canonical dump of the tree parsel builds
(`parsel.Selector(text=...).root` and its siblings: elements with attributes in
order, text, comments, PIs) with the one Trawl's builder makes, and the outer HTML of
the root element (`lxml.etree.tostring(root, method="html", encoding="unicode")`);
prints the share of identical pages and the first differences.

Trawl's side is a dump binary (see the report of the tree builder: the scratch crate
at /work/scratch/tree, binary `treedump`) that reads file paths on stdin and writes one
JSON line per file: {"tree": [...], "html": "..."}.

Usage:
  tree_parity.py --bin /work/scratch/target-tree/release/treedump \
      [--show N] [DIR_OR_FILE ...]
Without paths: /usr/share/doc/python3/html, the fixtures next to this script, and the
built-in snippets.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import parsel
from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))

SNIPPETS = [
    "<table><tr><td>a<td>b<tr><td>c</table>",
    "<table><thead><tr><th>h</thead><tr><td>x</td></tr><tfoot><tr><td>f</table>",
    "<p>a<p>b<div>c</div>d",
    "<div><p>a</div>b",
    "<ul><li>a<p>b<li>c</ul>",
    "<table><p>x<tr><td>y</table>",
    "<dl><dt>a<dd>b<dt>c<dd>d</dl>",
    "<select><option>a<option>b<optgroup label=g><option>c</select>",
    "<b>a<i>b</b>c</i>d",
    "<b><p>x</b>y</p>z",
    "<form><input name=a><form><input name=b></form></form>",
    "<noscript><p>a</p><img src=x></noscript>",
    "<head><noscript><link rel=x></noscript></head><body>",
    "<pre>\nx\n</pre><textarea>\ny</textarea><listing>\nz</listing>",
    "text before<html><body>x",
    "<!--a--><!--b--><html><!--c--><head><!--d--></head><!--e--><body>x</body><!--f--></html><!--g-->",
    "<p>x</p><title>late</title><meta charset=utf-8><style>s</style>",
    "<html a=1><body b=2>x<html c=3><body d=4>y</body></html>z",
    "<h1>a<p>b</h1>c<h2>d</h2>",
    "<script>if (a</b) { x = '</p>'; }</script><p>after",
    "<script><!--<script>x</script>--></script>y",
    "<style>p > a { }</style><xmp><b>x</b></xmp><iframe><p>i</iframe>",
    "<title>a &amp; <b>b</b></title>",
    "&amp; &lt; &gt; &quot; &nbsp; &copy &notit; &#65; &#x42; &#0; &#x110000; &#128; &bogus;",
    "<a href='?a=1&b=2&copy=3'>l</a><a title='&copy=x &copyx'>t</a>",
    "<DIV CLASS=X><P>Upper</P></DIV>",
    "<svg viewBox='0 0 1 1'><circle r=1 /><foreignObject><p>x</p></foreignObject></svg><math><mi>x</mi></math>",
    "<input checked disabled=disabled value=''><option selected>o</option><script async defer src=a></script>",
    "<p title=\"a&amp;b &lt;c&gt; &quot;q&quot;\" data-x=\"&{x}\" class=\"it's\" foo bar=''>",
    "<a href=' a b/\u00e9?x=1&amp;y=\"2\"' name='\u00e9 x'>t</a><img src='\u00e9 x'><form action='x y'></form>",
    "<ul><li></li><li>x</ul><p></p><embed><p>in</p>",
    "<video><source src=a><p>x</video><br></br></p>",
    "<?php echo 1 ?><p>a<?pi x?>b",
    "<!DOCTYPE html><html><head></head><body><!DOCTYPE x>y</body></html>",
    "<p>a</p></html> <p>b",
    "<body><p>x</body><script>s</script></html><script>t</script>",
    "<div><body/>x</div>y",
    "<head/><p>x",
    "x<frameset><frame src=a></frameset>",
    "<table><tr><td><table><tr><td>in</table>out</td></tr></table>",
    "<table><caption>c<tr><td>x</table>",
    "<a href=1>one<a href=2>two</a>",
    "<p><span>a<div>b</div></span>",
    "<center><b>x<center>y</center></b></center>",
    "<body>\n  <div>\n  </div>\n  text\n</body>",
    "<html>\n<head>\n<title>x</title>\n</head>\n<body>\n<p>x</p>\n</body>\n</html>\n",
    "<td>cell</td>",
    "<tr><td>cell</td></tr>",
    "<li>item",
    "<option>o",
    "</p>stray</div>end",
    "<p>a</span>b</td>c</table>d",
    "<plaintext><p>all text</p>",
    "<![CDATA[x]]><p>y",
    "<p>x\r\ny\rz</p>",
    "<a =b c==d e='f'g h=\"i\"/j>k",
    "<fb:like a:b=c xmlns:fb=x>z</fb:like>",
    "<div/>a<span/>b<br/>c",
    "<p>\u00e9\u00e8 \u2603 \U0001F600</p>",
    "<img alt=\"<b>\">",
    "<textarea><p>&lt;</textarea>",
    "<head><base href=x><link rel=a><script>1</script></head>  \n <body>",
    "<html><head><title>t</title></head>\n\n<!--c-->\n<body>",
    "<input type=checkbox CHECKED><select MULTIPLE><option SELECTED>x</select>",
]


def lxml_dump(text):
    root = parsel.Selector(text=text, type="html").root
    nodes = list(reversed(list(root.itersiblings(preceding=True))))
    nodes += [root] + list(root.itersiblings())
    out = []
    for top in nodes:
        # (node, state): state 0 = enter, 1 = leave
        stack = [(top, 0)]
        while stack:
            node, state = stack.pop()
            if state == 1:
                out.append(["end"])
                if node.tail is not None and node is not top:
                    out.append(["text", node.tail])
                continue
            if isinstance(node, etree._Comment):
                out.append(["comment", node.text or ""])
                if node.tail is not None and node is not top:
                    out.append(["text", node.tail])
            elif isinstance(node, etree._ProcessingInstruction):
                out.append(["pi", node.target, node.text or ""])
                if node.tail is not None and node is not top:
                    out.append(["text", node.tail])
            else:
                out.append(["start", node.tag, [[k, v] for k, v in node.attrib.items()]])
                if node.text is not None:
                    out.append(["text", node.text])
                stack.append((node, 1))
                for child in reversed(list(node)):
                    stack.append((child, 0))
    html = etree.tostring(root, method="html", encoding="unicode", with_tail=False)
    return merge_text(out), html


def merge_text(items):
    merged = []
    for item in items:
        if item[0] == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ["text", merged[-1][1] + item[1]]
        else:
            merged.append(item)
    return merged


def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for dirpath, _, names in os.walk(p, followlinks=True):
                files += [os.path.join(dirpath, n) for n in names if n.endswith((".html", ".htm"))]
        elif os.path.exists(p):
            files.append(p)
    return sorted(files)


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("--list", help="a file naming pages, one path a line")
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="tree-parity-")
    snippet_files = []
    for i, s in enumerate(SNIPPETS):
        p = os.path.join(tmp, "snippet%03d.html" % i)
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(s)
        snippet_files.append(p)
    if args.paths or args.list:
        files = collect(args.paths)
        if args.list:
            with open(args.list, encoding="utf-8") as f:
                files += [line.strip() for line in f if line.strip()]
    else:
        files = collect(["/usr/share/doc/python3/html", os.path.join(HERE, "fixtures")])
        files += snippet_files

    proc = subprocess.run(
        [args.bin], input="\n".join(files) + "\n", capture_output=True, text=True, check=True
    )
    ours = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(ours) == len(files), (len(ours), len(files))

    same_tree = same_html = 0
    shown = 0
    slowest = max(ours, key=lambda o: o["ms"])["ms"] if ours else 0
    for path, mine in zip(files, ours):
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        tree, html = lxml_dump(text)
        mine_tree = merge_text([[x[0], x[1], x[2]] if x[0] == "start" else x for x in mine["tree"]])
        t_ok = tree == mine_tree
        h_ok = html == mine["html"]
        same_tree += t_ok
        same_html += h_ok
        if (not t_ok or not h_ok) and shown < args.show:
            shown += 1
            print("--- %s" % path)
            if not t_ok:
                i = first_diff(tree, mine_tree)
                print("  tree differs at item %d" % i)
                print("    lxml: %s" % json.dumps(tree[max(0, i - 2): i + 3], ensure_ascii=False)[:600])
                print("    ours: %s" % json.dumps(mine_tree[max(0, i - 2): i + 3], ensure_ascii=False)[:600])
            if not h_ok:
                i = first_diff(html, mine["html"])
                print("  html differs at char %d" % i)
                print("    lxml: %r" % html[max(0, i - 80): i + 80])
                print("    ours: %r" % mine["html"][max(0, i - 80): i + 80])
    n = len(files)
    print("pages: %d" % n)
    print("identical trees:         %d/%d = %.2f %%" % (same_tree, n, 100.0 * same_tree / max(n, 1)))
    print("identical serialization: %d/%d = %.2f %%" % (same_html, n, 100.0 * same_html / max(n, 1)))
    print("slowest parse: %.1f ms" % slowest)
    return 0 if same_tree == n and same_html == n else 1


if __name__ == "__main__":
    sys.exit(main())
