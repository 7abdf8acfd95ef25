#!/usr/bin/env python3
"""The playground in a real browser: headless Chromium through Selenium.

usage: test_playground.py tapegrad-playground.html playground-ref [ref-musl]

For each expression it types it into the page, runs it, clicks Step through
the whole backward pass and reads from the DOM the value and gradient of
every tensor, the gradient arriving at each step and the engine's trace of
that step; then it runs the same expression through playground-ref (the
same C, compiled natively) and compares the f64 values (both sides print
%.17g): identical to playground-ref-musl, built with musl's libm, which is
the page's (wasi-libc's libm is musl's); within 1e-12 relative of the glibc
build, whose tanh, exp, log may round the last bit differently. Also the plot's f, f', f'', the engine's error messages, a
screenshot that is not blank (saved in TG_PLAYGROUND_LOGDIR) and a console
without errors. Exit 77 (skipped) without chromium, chromedriver or
python3-selenium.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

SKIP = 77

CASES = [
    ('relu(x)', 'x=0.5'),
    ('relu(x)', 'x=-2'),
    ('c = a + b;\nd = a*b + b^3;\nc = c + c + 1;\nc = c + 1 + c + (-a);\n'
     'd = d + d*2 + relu(b + a);\nd = d + 3*d + relu(b - a);\n'
     'e = c - d;\nf = e^2;\ng = f/2;\ng + 10/f', 'a=-4, b=2'),
    ('tanh(w*x + b)', 'w=-3, x=2, b=6.8813735870195432'),
    ('-log(exp(a) / (exp(a) + exp(b) + exp(c)))', 'a=2, b=1, c=0.1'),
    ('tanh(a*b + c)', 'a=2, b=-3, c=1'),
    ('logsumexp(z) - sum(z*y)', 'z=[2, 1, 0.1], y=[1, 0, 0]'),
    ('mean(tanh(w*v) + v^2) * c', 'w=0.7, v=[-1.5, 0.25, 2], c=3'),
    ('sigmoid(x)^2 * sqrt(abs(x)) + max(x, 0.3) - x^x', 'x=1.7'),
]
PLOTS = [('tanh(w*x + b)', 'w=-3, x=2, b=6.8813735870195432'),
         ('x^3 - 2*x', 'x=1'), ('relu(x)', 'x=0.5')]
ERRORS = [('log(a)', 'a=-1'), ('tanh(a', 'a=1'), ('a + q', 'a=1'),
          ('foo(a)', 'a=1'), ('sum(a + b)', 'a=[1, 2, 3], b=[1, 2]'),
          ('a * b', 'a=2, b=[1, 2]')]


def skip(why):
    print('SKIP:', why)
    sys.exit(SKIP)


def ref(binary, *args):
    # Under `meson test --setup valgrind` the glibc reference runs in
    # valgrind. Not the musl one: musl's printf rounds with long double,
    # which valgrind computes at double precision, so its digits change.
    wrapper = os.environ.get('TG_RUN_WRAPPER', '').split()
    if 'musl' in os.path.basename(binary):
        wrapper = []
    out = subprocess.run([*wrapper, binary, *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def same(a, b, rel=0.0):
    """Identical f64 (NaN equals NaN; -0.0 and 0.0 differ), or with rel > 0
    within that relative difference; or both None."""
    if a is None or b is None:
        return a is b
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and
                len(a) == len(b) and all(same(x, y, rel)
                                         for x, y in zip(a, b)))
    fa, fb = float(a), float(b)
    if fa != fa or fb != fb:
        return fa != fa and fb != fb
    if rel == 0:
        return struct.pack('<d', fa) == struct.pack('<d', fb)
    return fa == fb or abs(fa - fb) <= rel * max(abs(fa), abs(fb))


class Failures:
    def __init__(self):
        self.n = 0

    def check(self, ok, what):
        if not ok:
            self.n += 1
            print('FAIL:', what)
        return ok


def png_rows(png):
    """The number of distinct (filtered) scanlines of a PNG: 1 for a blank
    page, hundreds for a drawn one."""
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat, width, bpp = 8, b'', 0, 4
    while pos < len(png):
        (length,) = struct.unpack('>I', png[pos:pos + 4])
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            width = struct.unpack('>I', body[:4])[0]
            bpp = {2: 3, 6: 4}.get(body[9], 4)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * bpp
    return len({raw[i:i + stride] for i in range(0, len(raw), stride)})


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(__doc__)
    page, binary = os.path.abspath(argv[1]), argv[2]
    # The musl build, whose libm is the page's (wasi-libc's), identical; the
    # glibc build within 1e-12 relative: its tanh, exp, log may round the
    # last bit differently, and 1 - tanh(u)^2 near saturation turns one ulp
    # of tanh into a relative 1e-13 in the gradient.
    refs = [(binary, 1e-12)] + [(b, 0.0) for b in argv[3:]]
    if len(refs) == 1:
        print('NOTE: no musl reference (apt-get install musl-tools): the '
              'page is compared with the glibc build only, to 1e-12')
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        skip('python3-selenium is not installed')
    browser = shutil.which('chromium') or shutil.which('chromium-browser')
    driver_bin = shutil.which('chromedriver')
    if browser is None or driver_bin is None:
        skip('chromium or chromedriver is not installed')

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ('--headless=new', '--no-sandbox', '--disable-gpu',
              '--disable-dev-shm-usage', '--window-size=1280,1500'):
        opts.add_argument(a)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    service = Service(executable_path=driver_bin)
    driver = webdriver.Chrome(options=opts, service=service)
    fails = Failures()
    try:
        driver.get('file://' + page)
        WebDriverWait(driver, 30).until(
            lambda d: d.find_element(By.TAG_NAME, 'body')
            .get_attribute('data-ready') == '1')
        by_id = lambda i: driver.find_element(By.ID, i)  # noqa: E731

        def enter(src, leaves):
            for box, text in (('expr', src), ('leaves', leaves)):
                e = by_id(box)
                e.clear()
                e.send_keys(text)
            by_id('run').click()

        def node_attr(i, name):
            v = driver.find_element(By.ID, f'node-{i}').get_attribute(
                'data-' + name)
            return None if v is None else json.loads(v)

        for src, leaves in CASES:
            enter(src, leaves)
            fails.check(by_id('error').get_attribute('hidden'),
                        f'{src!r}: runs ({by_id("error").text})')
            got = {'f': json.loads(by_id('summary').get_attribute('data-value')),
                   'steps': []}
            n_steps = int(by_id('step-count').text.split(' of ')[1].split()[0])
            for k in range(n_steps):
                fails.check(by_id('step').is_enabled(),
                            f'{src!r}: Step enabled before step {k + 1}')
                by_id('step').click()
                info = by_id('step-info')
                got['steps'].append((
                    int(info.get_attribute('data-entry')),
                    json.loads(info.get_attribute('data-grad')),
                    info.find_element(By.CSS_SELECTOR, 'pre.trace').text))
            fails.check(not by_id('step').is_enabled(),
                        f'{src!r}: Step disabled after the last entry')
            nodes = driver.find_elements(By.CSS_SELECTOR, '#graph .node')
            got['nodes'] = [(node_attr(i, 'value'), node_attr(i, 'grad'))
                            for i in range(len(nodes))]
            for binary, tol in refs:
                want = ref(binary, 'run', src, leaves)
                name = f'{src!r} vs {os.path.basename(binary)}'
                before = fails.n
                fails.check(same(got['f'], want['nodes'][want['root']]['value'],
                                 tol), f'{name}: f = {got["f"]}')
                fails.check(len(want['steps']) == want['entries'] ==
                            len(got['steps']), f'{name}: one step per entry')
                for k, (s, g) in enumerate(zip(want['steps'], got['steps'])):
                    fails.check(g[0] == s['entry'], f'{name}: step {k + 1} '
                                f'is entry #{s["entry"]}, not #{g[0]}')
                    fails.check(same(g[1], want['nodes'][s['node']]['grad'],
                                     tol), f'{name}: gradient arriving at '
                                f'step {k + 1}')
                    # The trace prints 4 digits: identical even across libms.
                    fails.check(g[2] == s['trace'].rstrip(), f'{name}: trace '
                                f'of step {k + 1}: {g[2]!r} vs {s["trace"]!r}')
                fails.check(len(got['nodes']) == len(want['nodes']),
                            f'{name}: {len(want["nodes"])} tensors drawn')
                for n, (v, g) in zip(want['nodes'], got['nodes']):
                    fails.check(same(v, n['value'], tol),
                                f'{name}: value of node {n["id"]}: {v} vs '
                                f'{n["value"]}')
                    fails.check(same(g, n['grad'], tol),
                                f'{name}: gradient of node {n["id"]}: {g} vs '
                                f'{n["grad"]}')
                if fails.n == before:
                    print(f'ok: {name}: {len(got["nodes"])} tensors, '
                          f'{len(got["steps"])} steps, ' +
                          ('identical' if tol == 0 else f'within {tol:g} relative'))

        for src, leaves in PLOTS:
            enter(src, leaves)
            got = {}
            for k in ('f', 'df', 'd2f'):
                path = driver.find_elements(By.CSS_SELECTOR, f'path.curve.{k}')
                got[k] = json.loads(path[0].get_attribute('data-values')) \
                    if path else None
            for binary, tol in refs:
                want = ref(binary, 'plot', src, leaves, '-3', '3', '241')
                name = f'plot of {src!r} vs {os.path.basename(binary)}'
                before = fails.n
                for k in ('f', 'df', 'd2f'):
                    fails.check(got[k] is not None and
                                len(got[k]) == len(want[k]) and
                                all(same(a, b, tol)
                                    for a, b in zip(got[k], want[k])),
                                f'{name}: {k}')
                if fails.n == before:
                    print(f'ok: {name}: f, f\', f\'\' ' +
                          ('identical' if tol == 0 else f'within {tol:g} relative'))

        for src, leaves in ERRORS:
            want = ref(binary, 'run', src, leaves)
            enter(src, leaves)
            err = by_id('error')
            fails.check(not want['ok'] and err.is_displayed() and
                        err.text == want['error'],
                        f'{src!r}: error {err.text!r} vs {want.get("error")!r}')
            print(f'ok: {src!r} shows the engine\'s message: {err.text}')

        # The screenshot: the neuron, halfway through backward.
        enter('tanh(w*x + b)', 'w=-3, x=2, b=6.8813735870195432')
        by_id('step').click()
        by_id('step').click()
        png = driver.get_screenshot_as_png()
        logdir = os.environ.get('TG_PLAYGROUND_LOGDIR', '.')
        shot = os.path.join(logdir, 'playground-screenshot.png')
        with open(shot, 'wb') as f:
            f.write(png)
        rows = png_rows(png)
        fails.check(rows > 100, f'screenshot {shot} looks blank ({rows} '
                    'distinct rows)')
        print(f'screenshot: {shot} ({rows} distinct rows)')

        # From a plain static web server too, not only from file://.
        server = subprocess.Popen(
            [sys.executable, '-m', 'http.server', '--bind', '127.0.0.1',
             '--directory', os.path.dirname(page), '0'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = server.stdout.readline()  # "Serving HTTP on ... port N"
            port = line.split(' port ')[1].split()[0]
            driver.get(f'http://127.0.0.1:{port}/{os.path.basename(page)}')
            WebDriverWait(driver, 30).until(
                lambda d: d.find_element(By.TAG_NAME, 'body')
                .get_attribute('data-ready') == '1')
            enter('tanh(a*b + c)', 'a=2, b=-3, c=1')
            want = ref(refs[-1][0], 'run', 'tanh(a*b + c)', 'a=2, b=-3, c=1')
            got = json.loads(by_id('summary').get_attribute('data-value'))
            fails.check(same(got, want['nodes'][want['root']]['value'],
                             refs[-1][1]), 'served over http: f')
            print(f'ok: served over http (port {port}): f = {got}')
        finally:
            server.terminate()
            server.wait()

        logs = driver.get_log('browser')
        bad = [e for e in logs if e['level'] in ('SEVERE', 'WARNING')]
        fails.check(not bad, f'console has errors: {bad}')
    finally:
        driver.quit()
    print(f'{fails.n} failures')
    return 1 if fails.n else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
