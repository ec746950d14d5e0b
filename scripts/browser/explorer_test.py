"""Drives the attention explorer page (GET /) in headless Chromium against a running dyserve.

Checks, as a user would see them: the page loads without console errors and shows the latest
traced request with its layers; a layer can be picked; the temperature slider moves pi the way the
papers say (a larger tau gives a higher entropy, a smaller one a lower); an uploaded .npy is
classified, and so is a PNG of the same digit converted in the browser; the compare view names the layer where two requests differ most; every control has a
label. Saves a screenshot of each view into --out. Exit status 1 on the first failed check.

Usage: explorer_test.py --base http://127.0.0.1:PORT --npy docs/examples/digit.npy --out test-output/browser
"""
import argparse
import json
import os
import struct
import sys
import time
import urllib.request
import zlib

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)
    print(f"  ok    {message}")


def wait_for(what, predicate, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # the element may not exist yet
            pass
        time.sleep(0.1)
    raise Failed(f"timed out after {timeout} s waiting for {what}")


def post(base, path, body, content_type, key=None):
    headers = {"Content-Type": content_type, **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(base + path, data=body, method="POST", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def digit_png(npy_path, png_path, scale=12):
    """The 8x8 digit of a float32 .npy (values 0..16) as a PNG a person might upload: dark ink on
    white, 12x larger, with a white margin. Written with zlib alone (no imaging library)."""
    raw = open(npy_path, "rb").read()
    header_length = struct.unpack("<H", raw[8:10])[0]
    pixels = struct.unpack("<64f", raw[10 + header_length:10 + header_length + 256])
    side = 8 * scale + 2 * 16
    rows = []
    for y in range(side):
        row = bytearray([0])  # filter type: none
        for x in range(side):
            cy, cx = (y - 16) // scale, (x - 16) // scale
            ink = pixels[cy * 8 + cx] / 16 if 0 <= cy < 8 and 0 <= cx < 8 else 0
            row.append(round(255 * (1 - ink)))
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    open(png_path, "wb").write(png)


def browser(chromium, chromedriver):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


class Page:
    def __init__(self, driver, out):
        self.driver, self.out = driver, out

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def console_errors(self):
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def no_console_errors(self, when):
        errors = self.console_errors()
        check(not errors, f"no console errors {when}" + (f": {errors}" if errors else ""))

    def screenshot(self, name):
        """The whole page: the window is made as tall as the document first."""
        width = self.driver.get_window_size()["width"]
        height = self.js("return Math.ceil(document.documentElement.scrollHeight)")
        self.driver.set_window_size(width, min(max(height, 600), 6000))
        time.sleep(0.2)
        path = os.path.join(self.out, f"{name}.png")
        self.driver.save_screenshot(path)
        print(f"  saved {path}")

    def ratios(self, container):
        """Entropy ratio per layer as shown in a heat strip inside `container`."""
        return {row.get_attribute("data-layer"): float(row.get_attribute("data-entropy-ratio"))
                for row in self.driver.find_elements(By.CSS_SELECTOR, f"{container} g.row")}

    def set_tau(self, log10_tau):
        self.js("const s = document.getElementById('try-tau'); s.value = arguments[0];"
                "s.dispatchEvent(new Event('input', {bubbles: true}));", str(log10_tau))

    def next_try_result(self, previous_id):
        return wait_for("a new try-it result", lambda: (
            (i := self.find("#try-heat-strip").get_attribute("data-id")) != previous_id and i))


def run(args):
    os.makedirs(args.out, exist_ok=True)
    base = args.base.rstrip("/")
    npy = open(args.npy, "rb").read()
    # A traced request at level "full" (keeps the input) is the latest one when the page opens.
    latest = post(base, "/infer?model=dy-digits&trace=full", npy, "application/x-npy")["id"]
    driver = browser(args.chromium, args.chromedriver)
    page = Page(driver, args.out)
    try:
        driver.get(base + "/")
        shown = wait_for("the latest request", lambda: page.find("#facts").get_attribute("data-id"))
        check(shown == latest, f"the page shows the latest traced request ({latest})")
        layers = list(page.ratios("#heat"))
        check(layers == ["conv1", "conv2", "conv3"], f"its heat strip lists dy-digits' dynamic layers: {layers}")
        check(page.find("#input-view canvas") is not None, "the input is drawn as a picture")
        check("2" in page.find("#prediction").text, "the prediction shows the top class 2")
        wait_for("the DY-ReLU spatial map", lambda: page.find("#relu canvas"))
        page.no_console_errors("after loading")
        page.screenshot("1-request")

        page.find("#heat g.row[data-layer='conv2']").click()
        wait_for("conv2's bars", lambda: "conv2" in page.find("#layer-title").text)
        check(True, "clicking a heat-strip row shows that layer's bars")

        page.find("#tab-try").click()
        wait_for("the try-it form", lambda: page.find("#try-form").is_displayed())
        page.find("#try-live").click()  # off: each temperature is sent explicitly below
        measured = {}
        last = None
        for log_tau in (0, 1.5, -1):
            page.set_tau(log_tau)
            page.find("#try-send").click()
            last = page.next_try_result(last)
            measured[log_tau] = page.ratios("#try-heat")
        check(len(measured[0]) == 3, "try it shows pi for the three layers")
        flatter = all(measured[1.5][l] > measured[0][l] for l in measured[0])
        sharper = all(measured[-1][l] < measured[0][l] for l in measured[0])
        summary = {l: [round(measured[t][l], 3) for t in (-1, 0, 1.5)] for l in measured[0]}
        check(flatter, f"tau 31.6 flattens pi: every layer's H/log K rises from tau 1 ({summary}, at tau 0.1, 1, 31.6)")
        check(sharper, "tau 0.1 sharpens pi: every layer's H/log K falls from tau 1")
        # With live re-run on, moving the slider alone sends a new request.
        page.find("#try-live").click()
        page.set_tau(2)
        last = page.next_try_result(last)
        check(all(v > measured[1.5][l] - 1e-6 for l, v in page.ratios("#try-heat").items()),
              "moving the slider re-runs the request, and tau 100 is flatter still")
        check("flatter" in page.find("#try-change").text, "the change table says pi became flatter")
        page.no_console_errors("after the temperature runs")
        page.screenshot("2-try-temperature")

        page.find("#try-live").click()  # off again: back to the model's own tau without a run
        page.set_tau(0)
        page.find("#try-file").send_keys(os.path.abspath(args.npy))
        last = page.next_try_result(last)
        top = wait_for("the upload's prediction", lambda: page.find("#try-top").get_attribute("data-top"))
        check(top == "2", f"the uploaded .npy is classified as 2 (got {top})")
        page.no_console_errors("after the upload")
        page.screenshot("3-try-upload-npy")

        png = os.path.join(args.out, "digit-upload.png")
        digit_png(args.npy, png)
        page.find("#try-file").send_keys(os.path.abspath(png))
        last = page.next_try_result(last)
        top = wait_for("the picture's prediction", lambda: page.find("#try-top").get_attribute("data-top"))
        check(top == "2", f"an uploaded PNG of the same digit (dark on white, 96 px) is converted to 8x8 and classified as 2 (got {top})")
        page.no_console_errors("after the picture upload")
        page.screenshot("4-try-upload-png")

        page.find("#tab-compare").click()
        most = wait_for("the comparison", lambda: page.find("#compare-most").get_attribute("data-layer"))
        check(most in layers, f"compare names the layer where the two requests differ most ({most})")
        page.screenshot("5-compare")

        unlabelled = page.js("""
            const named = e => (e.labels && e.labels.length) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
                || (e.tagName === 'BUTTON' && e.textContent.trim());
            return [...document.querySelectorAll('input, select, textarea, button, [role=button], [tabindex]')]
                .filter(e => !named(e)).map(e => e.outerHTML.slice(0, 80));""")
        check(not unlabelled, "every control has a label" + (f"; not: {unlabelled}" if unlabelled else ""))

        driver.set_window_size(390, 844)
        driver.get(base + "/")
        wait_for("the phone-width page", lambda: page.find("#facts").get_attribute("data-id"))
        overflow = page.js("return document.documentElement.scrollWidth - window.innerWidth")
        check(overflow <= 1, f"at phone width (390 px) the page does not scroll sideways (overflow {overflow} px)")
        page.no_console_errors("at phone width")
        page.screenshot("6-phone")
    finally:
        driver.quit()


def run_with_key(args):
    """A server with API keys and auth.explorer open (docs/auth.md): the page asks for a key after
    the first 401, keeps it in sessionStorage and sends it with every call once given."""
    base = args.base.rstrip("/")
    latest = post(base, "/infer?model=dy-digits&trace=full", open(args.npy, "rb").read(), "application/x-npy", key=args.key)["id"]
    driver = browser(args.chromium, args.chromedriver)
    page = Page(driver, args.out)
    try:
        driver.get(base + "/")
        wait_for("the key form after a 401", lambda: page.find("#key-form").is_displayed())
        check("HTTP 401" in page.find("#status").text, f"the page reports the 401: {page.find('#status').text!r}")
        page.screenshot("7-key-asked")
        page.console_errors()  # the 401s the browser logged before the key was given are expected
        page.find("#api-key").send_keys(args.key)
        page.find("#key-form button").click()
        shown = wait_for("the latest request with the key", lambda: page.find("#facts").get_attribute("data-id"))
        check(shown == latest, f"with the key the page shows the latest traced request ({latest})")
        stored = page.js("return sessionStorage.getItem('dyserve.apiKey')")
        check(stored == args.key, "the key is kept in sessionStorage")
        check(page.js("return document.cookie") == "" and page.js("return localStorage.length") == 0,
              "and nowhere else (no cookie, nothing in localStorage)")
        page.no_console_errors("after giving the key")
        page.screenshot("8-with-key")
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", help="the server has API keys: check the page's key form with this key")
    parser.add_argument("--base", required=True)
    parser.add_argument("--npy", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    try:
        run_with_key(args) if args.key else run(args)
    except Failed as failure:
        print(f"  FAIL  {failure}")
        sys.exit(1)
    print("browser test: all checks passed")


if __name__ == "__main__":
    main()
