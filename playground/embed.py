#!/usr/bin/env python3
"""Assemble the playground page: page.html with page.css, page.js and the
.wasm (base64) written into it, so that the one output file needs nothing
else: it opens from file:// and from any static server.

usage: embed.py page.html page.js page.css playground.wasm OUTPUT
"""
import base64
import sys


def main(argv):
    if len(argv) != 6:
        sys.exit(__doc__)
    html, js, css, wasm, out = argv[1:]
    with open(html, encoding='utf-8') as f:
        page = f.read()
    with open(js, encoding='utf-8') as f:
        script = f.read()
    with open(css, encoding='utf-8') as f:
        style = f.read()
    with open(wasm, 'rb') as f:
        blob = base64.b64encode(f.read()).decode('ascii')
    for mark in ('/*@CSS@*/', '/*@JS@*/', '@WASM_BASE64@'):
        if page.count(mark) != 1:
            sys.exit(f'embed.py: {html} must hold {mark} exactly once')
    # The script may not contain the marks itself, nor </script>.
    if '</script' in script.lower():
        sys.exit(f'embed.py: {js} contains </script>')
    page = page.replace('/*@CSS@*/', style)
    page = page.replace('@WASM_BASE64@', blob)
    page = page.replace('/*@JS@*/', script)
    with open(out, 'w', encoding='utf-8') as f:
        f.write(page)


if __name__ == '__main__':
    main(sys.argv)
