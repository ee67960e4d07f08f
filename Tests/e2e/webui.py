#!/usr/bin/env python3
"""The web UI in a real browser: headless Chromium driven by Selenium against a running
zero-configuration `berth serve` that webui.sh prepared (images pushed, a user `dev` whose
rule lets it pull `team/*` only). Arguments: base URL, admin password, dev password, the
berth binary and the server's data directory (to disable dev while it is signed in).
Prints "  ok   NAME" / "  FAIL NAME" lines; exits 1 if any failed."""
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, ADMIN_PW, DEV_PW, BERTH, DATA = sys.argv[1:6]
FAILED = 0


def check(name, ok, detail=""):
    global FAILED
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f"\n       {detail}"))
    if not ok:
        FAILED += 1


options = Options()
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
    options.add_argument(flag)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(30)
console_errors = []


def visible_repositories():
    return sorted(a.text for a in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:first-child a"))


def submit(button):
    """Clicks and waits for the next page to replace this one. Chromium reports an element
    of a page being replaced either as stale or as "does not belong to the document"."""
    button.click()

    def replaced(_):
        try:
            button.is_enabled()
            return False
        except WebDriverException:
            return True

    WebDriverWait(driver, 20).until(replaced)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


accessibility = []
SCREENSHOTS = os.environ.get("BERTH_SCREENSHOTS") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.build/screenshots")
os.makedirs(SCREENSHOTS, exist_ok=True)

# Every word (up to 40 characters) in a header, a name or a short column stays on one line: a word broken across
# lines (by overflow-wrap or a squeezed column) has client rects on more than one line.
BROKEN_WORDS = """
    const broken = [];
    for (const el of document.querySelectorAll('table.list th, table.list td.word, table.list td.name, table.list td:first-child, nav a, button, dl.facts dt')) {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
                const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
                // A digest-long token (a signature's tag) may break; a name or a header may not.
                if (tops.size > 1 && m[0].length <= 40) broken.push(m[0]);
            }
        }
    }
    return broken;"""


# At phone width a table's rows stack and its headers are hidden: every cell after the first
# (the row's name) with something in it says what it is, unless it holds the row's buttons.
UNLABELLED_CELLS = """
    const bare = [];
    for (const td of document.querySelectorAll('table.list tbody td:not(:first-child):not(.actions):not([data-label])')) {
        if (td.textContent.trim() && !td.querySelector('button, form')) bare.push(td.textContent.trim().slice(0, 30));
    }
    return bare;"""


FOCUS_VISIBLE = """
    const missing = [];
    for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')) {
        el.focus();
        const style = getComputedStyle(el);
        if (document.activeElement === el && style.outlineStyle === 'none' && style.boxShadow === 'none') missing.push(el.outerHTML.slice(0, 80));
    }
    document.activeElement && document.activeElement.blur();
    return missing;"""


def accessibility_problems(path):
    """What Chromium's accessibility tree says a screen reader would miss: form fields,
    buttons and links without a name, tables without header cells; and controls that show no
    focus outline."""
    problems = []
    nodes = [n for n in driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})["nodes"] if not n.get("ignored")]
    def role(n): return n.get("role", {}).get("value", "")
    def name(n): return (n.get("name") or {}).get("value", "").strip()
    for node in nodes:
        if role(node) in ("textbox", "combobox", "spinbutton", "checkbox", "searchbox", "button", "link") and not name(node):
            problems.append(f"{path}: a {role(node)} without a name")
    # Chromium treats a table without header cells as layout, not data.
    layout = sum(1 for n in nodes if role(n) == "LayoutTable")
    if layout:
        problems.append(f"{path}: {layout} table(s) without header cells (a layout table to a screen reader)")
    problems += [f"{path}: no focus outline on {html}" for html in driver.execute_script(FOCUS_VISIBLE)[:3]]
    return problems


def tour(paths):
    """Each page at 1280 and 390 px: a screenshot saved, no sideways scrolling, no word
    broken inside in headers, names and short columns."""
    size = driver.get_window_size()
    problems = []
    accessibility.clear()
    for width in (1280, 390):
        driver.set_window_size(width, 900)
        for path in paths:
            driver.get(BASE + path)
            name = re.sub(r"[^A-Za-z0-9]+", "-", re.sub(r"[0-9a-f]{64}", lambda m: m.group()[:12], path).strip("/")) or "root"
            driver.save_screenshot(os.path.join(SCREENSHOTS, f"{name}-{width}.png"))
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            broken = driver.execute_script(BROKEN_WORDS)
            if overflow > 0:
                problems.append(f"{path} at {width}px scrolls sideways by {overflow}px")
            if broken:
                problems.append(f"{path} at {width}px breaks inside {broken[:4]}")
            bare = driver.execute_script(UNLABELLED_CELLS) if width == 390 else []
            if bare:
                problems.append(f"{path} at {width}px stacks cells that do not say what they are: {bare[:4]}")
            if width == 1280:
                accessibility.extend(accessibility_problems(path))
    driver.set_window_size(size["width"], size["height"])
    return problems


def sign_in(user, password):
    driver.get(BASE + "/ui/login")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver.find_element(By.CSS_SELECTOR, "form.login button"))


def sign_out():
    submit(driver.find_element(By.CSS_SELECTOR, "header form button"))


try:
    driver.get(BASE + "/")
    check("the root sends an unsigned visitor to the sign-in page", driver.current_url.endswith("/ui/login"), driver.current_url)
    labels = [l.text for l in driver.find_elements(By.CSS_SELECTOR, "form.login label")]
    check("the sign-in form's fields are labelled", labels == ["User name", "Password"], str(labels))

    problems = tour(["/ui/login"])
    check("the sign-in page fits 1280 and 390 px (no sideways scrolling, no word broken)", not problems, "; ".join(problems))
    check("and in Chromium's accessibility tree every field, button and link has a name; focus is visible", not accessibility,
          "; ".join(accessibility))

    sign_in("admin", "wrong-password")
    error = driver.find_elements(By.CSS_SELECTOR, ".error")
    check("a wrong password is refused on the page", bool(error) and "Wrong" in error[0].text,
          driver.find_element(By.TAG_NAME, "main").text[:300])

    sign_in("admin", ADMIN_PW)
    check("admin signs in and lands on the home page", driver.current_url.endswith("/ui/home"), driver.current_url)
    host = urllib.parse.urlparse(BASE).netloc
    logins = [c.text for c in driver.find_elements(By.CSS_SELECTOR, ".pull code")]
    check("which shows how to log in with docker and podman", logins == [f"docker login {host}", f"podman login --tls-verify=false {host}"], str(logins))
    pushable = sorted(a.text for a in driver.find_elements(By.CSS_SELECTOR, "ul.columns a"))
    check("the repositories admin may push to", pushable == ["ops/tool", "signed/app", "team/app", "team/multi"], str(pushable))
    pushes = [tr.find_element(By.CSS_SELECTOR, "td").text for tr in driver.find_elements(By.XPATH, "//h2[text()='Recent pushes']/following-sibling::table[1]/tbody/tr")]
    check("the latest pushes, from the audit log", "team/app:hostile" in pushes and "signed/app:v1" in pushes
          and any(p.startswith("signed/app:sha256-") for p in pushes), str(pushes))
    namespaces = [tr.find_element(By.CSS_SELECTOR, "td").text for tr in driver.find_elements(By.XPATH, "//th[text()='Namespace']/ancestor::table/tbody/tr")]
    check("and, for an administrator, storage per namespace", sorted(namespaces) == ["ops", "signed", "team"], str(namespaces))
    driver.get(BASE + "/ui/")
    repos = visible_repositories()
    check("admin sees every repository", repos == ["ops/tool", "signed/app", "team/app", "team/multi"], str(repos))
    cells = [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")] for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]
    check("each with its tag count, size and last push time",
          all(len(c) == 4 and c[1].isdigit() and c[2].endswith("B") and c[2] != "0 B" and re.search(r"\b20\d\d\b", c[3]) for c in cells), str(cells))
    cookie = driver.get_cookie("berth_session")
    check("the session cookie is HttpOnly and SameSite=Strict", cookie and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict",
          str(cookie))

    submit(driver.find_element(By.LINK_TEXT, "team/app"))
    tags = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:first-child")]
    check("a repository page lists its tags", tags == ["hostile", "v1"], str(tags))
    pulls = [c.text for c in driver.find_elements(By.CSS_SELECTOR, ".pull code")]
    check("with copy-ready pull commands for this host", any(p.startswith(f"docker pull {host}/team/app:") for p in pulls), str(pulls))
    check("podman's and skopeo's turn TLS verification off on this plain-HTTP registry",
          any(p.startswith(f"podman pull --tls-verify=false {host}/team/app:") for p in pulls)
          and any(p.startswith("skopeo copy --src-tls-verify=false docker://") for p in pulls), str(pulls))

    submit(driver.find_element(By.XPATH, "//tr[td[1][text()='hostile']]//a"))
    page = driver.page_source
    bold = driver.find_elements(By.CSS_SELECTOR, "main b, main script, main img, main iframe")
    label_values = [dd.text for dd in driver.find_elements(By.CSS_SELECTOR, "main dl.facts dd")]
    check("labels and annotations with markup are shown as text, never as markup",
          not bold and "<b>bold</b>" in label_values and '"><img src=x onerror=alert(1)>' in label_values
          and "<script>alert(2)</script>" in label_values, f"{[e.tag_name for e in bold]} {label_values}")
    layers = driver.find_elements(By.CSS_SELECTOR, "main table.list tbody tr")
    check("an image page lists its layers and configuration", len(layers) == 2 and "linux/amd64" in page, f"{len(layers)} layers")

    # The cosign signature: a badge on the image's line, its tag hidden until asked for,
    # listed on the image's page.
    driver.get(BASE + "/ui/repo/signed/app")
    lines = {tr.find_element(By.CSS_SELECTOR, "td").text: tr for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")}
    badges = [b.text for b in lines["v1"].find_elements(By.CSS_SELECTOR, ".badge")] if "v1" in lines else []
    check("a signed image shows a 'signed (cosign)' badge, and the signature's own tag is not in the list",
          list(lines) == ["v1"] and badges == ["signed (cosign)"], f"{list(lines)} {badges}")
    submit(driver.find_element(By.PARTIAL_LINK_TEXT, "Show 1 signature"))
    shown = [tr.find_element(By.CSS_SELECTOR, "td").text for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]
    check("'Show 1 signature, attestation or SBOM tag' lists it", len(shown) == 2 and any(t.endswith(".sig") for t in shown), str(shown))
    driver.get(BASE + "/ui/repo/signed/app")
    submit(driver.find_element(By.CSS_SELECTOR, "table.list tbody td:nth-child(2) a"))
    attached = [tr.text for tr in driver.find_elements(By.CSS_SELECTOR, "table.supply-chain tbody tr")]
    check("the image's page lists the signature and how it is attached", len(attached) == 1 and "signed (cosign)" in attached[0]
          and ".sig" in attached[0], str(attached))

    driver.get(BASE + "/ui/repo/team/multi")
    submit(driver.find_element(By.CSS_SELECTOR, "table.list tbody a"))
    platforms = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "main table.list tbody td:first-child")]
    check("an index page lists its platforms", platforms == ["linux/amd64", "linux/arm64"], str(platforms))

    driver.get(BASE + "/ui/?q=team")
    check("the filter narrows the list", visible_repositories() == ["team/app", "team/multi"], str(visible_repositories()))

    # Administration: a user, a rule, the "who may do what" box against real token grants,
    # a robot whose secret is shown once, the audit log.
    nav = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav.admin a")]
    check("admin sees the administration links", nav == ["Users", "Rules", "Robots", "Policies", "Audit", "Webhooks", "Storage"], str(nav))
    def token_grant(user, password, repository, actions):
        import base64, json as _json
        request = urllib.request.Request(f"{BASE}/auth/token?service=Berth+registry&scope=repository:{repository}:{actions}",
                                         headers={"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
        token = _json.load(urllib.request.urlopen(request))["token"].split(".")[1]
        access = _json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["access"]
        granted = access[0]["actions"] if access else []
        return ",".join(sorted(granted)) if granted else "nothing"

    driver.get(BASE + "/ui/admin/users")
    driver.find_element(By.ID, "new-name").send_keys("ops")
    driver.find_element(By.ID, "new-password").send_keys("ops-password-1")
    driver.find_element(By.ID, "new-labels").send_keys("team=ops")
    submit(driver.find_element(By.CSS_SELECTOR, "form.stack button"))
    heading = driver.find_element(By.TAG_NAME, "h1").text
    notice = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "p.notice")]
    check("adding a user opens its own page and says it was added", heading == "ops" and notice and notice[0].startswith("Added ops."),
          f"{heading} {notice}")
    facts = dict(zip([dt.text for dt in driver.find_elements(By.CSS_SELECTOR, "dl.facts dt")],
                     [dd.text for dd in driver.find_elements(By.CSS_SELECTOR, "dl.facts dd")]))
    check("which shows its state, labels, creation and that it never signed in",
          facts.get("State") == "active" and facts.get("Labels") == "team=ops" and facts.get("Last sign-in") == "never"
          and re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d UTC", facts.get("Created", "")), str(facts))

    def users_table():
        driver.get(BASE + "/ui/admin/users")
        header = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "table.list thead th")]
        rows = {tr.find_element(By.CSS_SELECTOR, "td").text: [td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")]
                for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")}
        return header, rows
    header, rows = users_table()
    check("the Users page is a table: name, state, labels, expiry, created, last sign-in",
          header == ["Name", "State", "Labels", "Expires", "Created", "Last sign-in"], str(header))
    check("with a line per user and no buttons or inputs in it", "ops" in rows and rows["ops"][1:3] == ["active", "team=ops"]
          and not driver.find_elements(By.CSS_SELECTOR, "table.list button, table.list input"), str(rows.get("ops")))
    submit(driver.find_element(By.LINK_TEXT, "ops"))
    labels_field = driver.find_element(By.ID, "u-labels")
    labels_field.clear()
    labels_field.send_keys("team=ops tier=gold")
    submit(labels_field.find_element(By.XPATH, "./ancestor::form//button[@value='update']"))
    notice = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "p.notice")]
    check("labels are changed on the user's page, which confirms it", notice == ["Saved the labels and expiry of ops."], str(notice))
    header, rows = users_table()
    check("and the table shows them", "tier=gold" in rows.get("ops", ["", "", ""])[2], str(rows.get("ops")))
    hashes = "$2" in driver.page_source
    check("the Users page never shows a password hash", not hashes)

    # A user's page: disable (its logins stop at once), enable, and delete after a confirmation.
    driver.find_element(By.ID, "new-name").send_keys("temp")
    driver.find_element(By.ID, "new-password").send_keys("short")
    driver.execute_script("document.getElementById('new-password').removeAttribute('minlength')")
    submit(driver.find_element(By.CSS_SELECTOR, "form.stack button"))
    problem = [p.text for p in driver.find_elements(By.CSS_SELECTOR, "p.error")]
    check("a password the store refuses is explained on the Users page, which keeps the name typed",
          problem and "8" in problem[0] and driver.find_element(By.ID, "new-name").get_attribute("value") == "temp", str(problem))
    driver.find_element(By.ID, "new-password").send_keys("temp-password-1")
    submit(driver.find_element(By.CSS_SELECTOR, "form.stack button"))
    submit(driver.find_element(By.CSS_SELECTOR, "button[value=disable]"))
    state = driver.find_element(By.CSS_SELECTOR, "dl.facts dd .state").text
    check("Disable on the user's page disables it, and says so", state == "disabled"
          and "stopped working" in driver.find_element(By.CSS_SELECTOR, "p.notice").text, state)
    def can_log_in(user, password):
        try:
            token_grant(user, password, "team/app", "pull")
            return True
        except urllib.error.HTTPError:
            return False
    check("a disabled user cannot log in", not can_log_in("temp", "temp-password-1"))
    submit(driver.find_element(By.CSS_SELECTOR, "button[value=enable]"))
    check("Enable brings it back at once", driver.find_element(By.CSS_SELECTOR, "dl.facts dd .state").text == "active"
          and can_log_in("temp", "temp-password-1"))
    submit(driver.find_element(By.PARTIAL_LINK_TEXT, "Delete this user"))
    confirm = driver.find_elements(By.CSS_SELECTOR, "form.confirm button[value=delete]")
    check("Delete asks once more, naming the user", confirm and confirm[0].text == "Delete temp", str([c.text for c in confirm]))
    submit(confirm[0])
    header, rows = users_table()
    check("after confirming, the user is gone from the table", "temp" not in rows and "ops" in rows, str(list(rows)))
    driver.get(BASE + "/ui/admin/users/admin")
    check("an admin's own page offers no delete", not driver.find_elements(By.PARTIAL_LINK_TEXT, "Delete this user")
          and "another administrator" in driver.find_element(By.ID, "h-delete").find_element(By.XPATH, "..").text)
    driver.get(BASE + "/ui/admin/users/nobody-here")
    check("a user that does not exist is a clear 'No such user'", driver.find_element(By.TAG_NAME, "h1").text == "No such user",
          driver.find_element(By.TAG_NAME, "h1").text)

    driver.get(BASE + "/ui/admin/rules")
    driver.find_element(By.ID, "r-name").send_keys("${labels:team}/*")
    driver.find_element(By.ID, "r-actions").send_keys("pull,push")
    driver.find_element(By.ID, "r-comment").send_keys("<script>alert(3)</script> team namespaces")
    submit(driver.find_element(By.CSS_SELECTOR, "form.stack button"))
    comments = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:nth-child(4)")]
    scripts = driver.find_elements(By.CSS_SELECTOR, "main script")
    check("a rule added on the Rules page is listed; markup in its comment stays text",
          "<script>alert(3)</script> team namespaces" in comments and not scripts, str(comments))

    agreed = []
    for user, password, repository in [("ops", "ops-password-1", "ops/tool"), ("ops", "ops-password-1", "team/app"),
                                       ("dev", DEV_PW, "team/app"), ("dev", DEV_PW, "team/multi"), ("dev", DEV_PW, "ops/tool")]:
        driver.get(BASE + "/ui/admin/rules?" + urllib.parse.urlencode({"account": user, "repository": repository, "actions": "pull,push,delete"}))
        box = driver.find_element(By.CSS_SELECTOR, ".answer strong").text.removeprefix("granted: ")
        real = token_grant(user, password, repository, "pull,push,delete")
        agreed.append((user, repository, box, real))
    check("the who-may-do-what box agrees with real token grants", all(box == real for _, _, box, real in agreed), str(agreed))
    driver.get(BASE + "/ui/admin/rules?account=ops&repository=ops/tool&actions=push")
    answer = driver.find_element(By.CSS_SELECTOR, ".answer").text
    check("and names the rule that decided", "team namespaces" in answer and "rule #" in answer and "Optional" not in answer, answer)

    rules_before = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:nth-child(2)")]
    submit(driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")[-1].find_element(By.CSS_SELECTOR, "button[value=up]"))
    rules_after = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:nth-child(2)")]
    check("a rule moves up", rules_after[-2] == rules_before[-1] and rules_after[-1] == rules_before[-2], f"{rules_before} -> {rules_after}")

    last = driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")[-1]
    position = last.find_element(By.CSS_SELECTOR, "td").text
    last.find_element(By.LINK_TEXT, "Edit").click()
    actions_edit = driver.find_element(By.ID, "e-actions")
    check("Edit opens the rule in a form holding its fields", actions_edit.get_attribute("value") != "" and
          driver.find_element(By.ID, "edit").text == f"Edit rule #{position}", driver.find_element(By.ID, "edit").text)
    actions_edit.clear()
    actions_edit.send_keys("pull")
    comment_edit = driver.find_element(By.ID, "e-comment")
    comment_edit.clear()
    comment_edit.send_keys("edited in place")
    submit(driver.find_element(By.CSS_SELECTOR, "#edit + form button"))
    row = driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")[int(position) - 1].text
    check("a rule edited in place keeps its position and shows its new actions and comment",
          "edited in place" in row and " pull " in f" {row} ", row)

    # One user's refresh tokens: listed, revoked one by one, and a revoked one stops working.
    import base64, json as _json
    def offline_token(user, password):
        form = urllib.parse.urlencode({"grant_type": "password", "username": user, "password": password, "service": "Berth registry",
                                       "client_id": "webui-test", "access_type": "offline", "scope": "repository:ops/tool:pull"}).encode()
        return _json.load(urllib.request.urlopen(urllib.request.Request(BASE + "/auth/token", data=form)))["refresh_token"]
    refresh = offline_token("ops", "ops-password-1")
    # ops has logged in now: the users table says when (written with the audit log, within seconds).
    deadline = time.time() + 30
    while True:
        header, rows = users_table()
        if rows.get("ops", [""] * 6)[5] != "never" or time.time() > deadline:
            break
        time.sleep(0.3)
    check("the users table shows ops's last sign-in", re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d UTC", rows.get("ops", [""] * 6)[5]),
          str(rows.get("ops")))
    submit(driver.find_element(By.LINK_TEXT, "ops"))
    tokens_link = driver.find_element(By.CSS_SELECTOR, "dl.facts a[href*='/ui/admin/tokens']")
    check("ops's page counts its refresh tokens", tokens_link.text == "1 refresh token or session", tokens_link.text)
    tokens_link.click()
    tokens = driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    listed = [t.text for t in tokens]
    check("a user's refresh tokens are listed on their page, by client", len(tokens) == 1 and "webui-test" in tokens[0].text, str([t.text for t in tokens]))
    check("the page never shows the token itself", refresh not in driver.page_source)
    submit(tokens[0].find_element(By.CSS_SELECTOR, "button[value=revoke]"))
    check("revoking it there empties the list", "ops has no refresh tokens" in driver.page_source, driver.find_element(By.TAG_NAME, "main").text[:200])
    form = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh, "service": "Berth registry",
                                   "client_id": "webui-test", "scope": "repository:ops/tool:pull"}).encode()
    try:
        answer = urllib.request.urlopen(urllib.request.Request(BASE + "/auth/token", data=form))
        token = _json.load(answer)["token"].split(".")[1]
        status, body = answer.status, base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except urllib.error.HTTPError as e:
        status, body = e.code, b""
    check("and the revoked token no longer gets an access token", status == 401, f"{status} {body}")

    # Pulls are counted per repository and day (the signature check above pulled signed/app's
    # image manifest); written with the audit log's next batch, within seconds.
    deadline = time.time() + 30
    while True:
        driver.get(BASE + "/ui/admin/pulls")
        counted = {tr.find_elements(By.CSS_SELECTOR, "td")[1].text: int(tr.find_elements(By.CSS_SELECTOR, "td")[2].text)
                   for tr in driver.find_elements(By.CSS_SELECTOR, "table.pulls tbody tr")}
        if counted.get("signed/app", 0) >= 1 or time.time() > deadline:
            break
        time.sleep(0.3)
    check("the Pulls page counts pulls per repository and day", counted.get("signed/app", 0) >= 1, str(counted))
    driver.get(BASE + "/ui/repo/signed/app")
    shown = driver.find_elements(By.CSS_SELECTOR, "p.pulls")
    check("and a repository's page says how often it was pulled", shown and re.fullmatch(r"\d+ pulls? in the last 30 days", shown[0].text),
          str([p.text for p in shown]))

    driver.get(BASE + "/ui/admin/webhooks")
    check("the Webhooks page says when no endpoint is configured", "No webhook endpoints are configured" in driver.page_source)
    driver.get(BASE + "/ui/admin/storage")
    sizes = {tr.find_element(By.CSS_SELECTOR, "td").text: tr.find_elements(By.CSS_SELECTOR, "td")[2].text
             for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")}
    check("the Storage page lists every repository with its size", set(sizes) == {"team/app", "team/multi", "ops/tool", "signed/app"} and
          all(v and v != "0 B" for v in sizes.values()), str(sizes))

    driver.get(BASE + "/ui/admin/robots")
    driver.find_element(By.ID, "b-name").send_keys("builder")
    driver.find_element(By.ID, "b-repos").send_keys("team/*")
    actions_field = driver.find_element(By.ID, "b-actions")
    actions_field.clear()
    actions_field.send_keys("pull")
    submit(driver.find_element(By.CSS_SELECTOR, "form.stack button"))
    secret = driver.find_element(By.CSS_SELECTOR, ".secret-value").text
    check("a new robot's secret is shown once", secret.startswith("berth_"), secret[:10])
    hint = [c.text for c in driver.find_elements(By.CSS_SELECTOR, ".secret code")][-1]
    check("with a login command naming this registry", hint == f"docker login -u 'robot$builder' --password-stdin {urllib.parse.urlparse(BASE).netloc}", hint)
    check("and works as a docker login password, for what it was given",
          token_grant("robot$builder", secret, "team/app", "pull,push") == "pull", "")
    driver.get(BASE + "/ui/admin/robots")
    check("reloading the page does not show it again", not driver.find_elements(By.CSS_SELECTOR, ".secret-value") and secret not in driver.page_source)

    # Repository policies: team/app's v1 made immutable; its delete link goes, a badge says why.
    driver.get(BASE + "/ui/admin/policies")
    check("the Policies page says there are none yet", "No policies" in driver.page_source)
    driver.find_element(By.ID, "p-name").send_keys("team/app")
    driver.find_element(By.ID, "p-tag").send_keys("v*")
    driver.find_element(By.ID, "p-comment").send_keys("releases")
    submit(driver.find_element(By.CSS_SELECTOR, "form.stack button"))
    rows = [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")][:6] for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]
    check("adding an immutable-tags policy lists it", rows == [["immutable", "1", "team/app", "tag=v*", "", "releases"]], str(rows))
    driver.get(BASE + "/ui/repo/team/app")
    v1 = [tr for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr") if tr.find_element(By.CSS_SELECTOR, "td").text.startswith("v1")]
    check("the repository page marks v1 immutable and offers no delete for it",
          v1 and "immutable" in v1[0].text and not v1[0].find_elements(By.LINK_TEXT, "Delete tag")
          and not driver.find_elements(By.LINK_TEXT, "Delete this repository"), v1[0].text if v1 else "no v1 row")
    driver.get(BASE + "/ui/admin/policies")
    submit(driver.find_element(By.CSS_SELECTOR, "button[aria-label='Remove immutable policy 1']"))
    check("removing it says so", "Removed the immutable policy" in driver.find_element(By.CSS_SELECTOR, "p.notice").text)
    # A quota for the team namespace: a mistyped size is refused with the reason, then the usage is shown.
    def set_quota(namespace, size):
        driver.find_element(By.ID, "q-namespace").send_keys(namespace)
        driver.find_element(By.ID, "q-size").send_keys(size)
        submit(driver.find_element(By.XPATH, "//form[input[@value='set-quota']]//button"))
    set_quota("team", "lots")
    check("a quota with a mistyped size is refused, saying why", "lots is not a size" in driver.page_source, driver.find_element(By.TAG_NAME, "main").text[:300])
    driver.get(BASE + "/ui/admin/policies")
    set_quota("team", "10GiB")
    check("setting a quota says so", "Namespace team may store 10.0 GiB" in driver.find_element(By.CSS_SELECTOR, "p.notice").text)
    rows = [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")][:5] for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]
    check("the quota is listed with what team/* uses", len(rows) == 1 and rows[0][:4] == ["quota", "1", "team/*", "size=10.0 GiB"]
          and re.fullmatch(r"[0-9.]+ (B|KiB|MiB) of 10\.0 GiB \(0%\)", rows[0][4]) is not None, str(rows))
    # Retention through its form: a mistake is refused with the reason, then it is listed.
    driver.find_element(By.ID, "r-name").send_keys("ci/*")
    submit(driver.find_element(By.XPATH, "//form[input[@value='add-retention']]//button"))
    check("a retention policy with nothing to keep by is refused, saying what it needs",
          "need keep_last, keep_days, keep_pulled_days or untagged_after" in driver.page_source, driver.find_element(By.TAG_NAME, "main").text[:300])
    driver.get(BASE + "/ui/admin/policies")
    driver.find_element(By.ID, "r-name").send_keys("ci/*")
    driver.find_element(By.ID, "r-last").send_keys("10")
    driver.find_element(By.ID, "r-pulled").send_keys("90")
    submit(driver.find_element(By.XPATH, "//form[input[@value='add-retention']]//button"))
    check("adding a retention policy says so", "Retention applies to ci/*" in driver.find_element(By.CSS_SELECTOR, "p.notice").text)
    rows = [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")][:4] for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]
    check("it is listed with its settings", ["retention", "1", "ci/*", "keep_last=10 keep_pulled_days=90"] in rows, str(rows))
    submit(driver.find_element(By.CSS_SELECTOR, "button[aria-label='Remove retention policy 1']"))
    check("and removed", "Removed the retention policy" in driver.find_element(By.CSS_SELECTOR, "p.notice").text)

    # Signature-required pulls, with the key webui.sh signed signed/app:v1 with.
    with open(os.path.join(os.path.dirname(DATA), "cosign.pub")) as f:
        driver.find_element(By.ID, "s-key").send_keys(f.read())
    driver.find_element(By.ID, "s-name").send_keys("signed/*")
    submit(driver.find_element(By.XPATH, "//form[input[@value='add-signed']]//button"))
    check("adding a signature policy says so", "Pulls of signed/* need a signature" in driver.find_element(By.CSS_SELECTOR, "p.notice").text)
    rows = [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")][:4] for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]
    check("it is listed with its key as a fingerprint, not the PEM", ["signed", "1", "signed/*"] in [r[:3] for r in rows]
          and any(re.fullmatch(r"key=1 PEM key \(sha256 [0-9a-f]{12}\)", r[3]) for r in rows), str(rows))
    driver.get(BASE + "/ui/repo/signed/app")
    check("the web UI still shows the images of the repository", "v1" in driver.find_element(By.TAG_NAME, "main").text)
    driver.get(BASE + "/ui/admin/policies")
    submit(driver.find_element(By.CSS_SELECTOR, "button[aria-label='Remove signed policy 1']"))
    check("and removing it says so", "Removed the signed policy" in driver.find_element(By.CSS_SELECTOR, "p.notice").text)

    # Personal access tokens: the signed-in person's own, from the Account menu.
    links = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav[aria-label=Account] a")]
    check("the Account menu links to Access tokens", "Access tokens" in links, str(links))
    driver.get(BASE + "/ui/tokens")
    check("a person without tokens is told so", "You have no access tokens yet." in driver.page_source)
    def create_token(name, scopes=""):
        driver.get(BASE + "/ui/tokens")
        driver.find_element(By.ID, "t-name").send_keys(name)
        if scopes:
            driver.find_element(By.ID, "t-scopes").send_keys(scopes)
        submit(driver.find_element(By.CSS_SELECTOR, "form.stack button"))
        found = driver.find_elements(By.CSS_SELECTOR, ".secret-value")
        return found[0].text if found else ""
    pat = create_token("laptop", "team/*:pull")
    check("a new access token is shown once", pat.startswith("berth_pat_") and len(pat) == 50, pat[:12])
    check("it works as admin's docker password, limited to its scope although admin may do everything",
          token_grant("admin", pat, "team/app", "pull,push") == "pull" and token_grant("admin", pat, "ops/tool", "pull") == "nothing", "")
    # Last use is written with the audit batch, within a second or two.
    deadline = time.time() + 10
    while True:
        driver.get(BASE + "/ui/tokens")
        rows = [[td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")] for tr in driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr")]
        if (rows and rows[0][4] != "never") or time.time() > deadline:
            break
        time.sleep(0.3)
    check("the list shows its name, scope and last use, never the token", pat not in driver.page_source and rows and
          rows[0][0].startswith("laptop") and rows[0][1] == "team/*:pull" and rows[0][4] != "never", str(rows))
    create_token("bad", "team/*:fly")
    problem = [p.text for p in driver.find_elements(By.CSS_SELECTOR, "p.error")]
    check("a bad scope is refused with the reason", problem and "scope actions are pull, push, delete or *" in problem[0], str(problem))
    create_token("laptop")
    problem = [p.text for p in driver.find_elements(By.CSS_SELECTOR, "p.error")]
    check("a second token of the same name is refused", problem and "already has a token named laptop" in problem[0], str(problem))
    kept = create_token("release automation")
    submit(driver.find_element(By.CSS_SELECTOR, "button[aria-label='Revoke token laptop']"))
    notice = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "p.notice")]
    check("revoking says so", notice and notice[0].startswith("Revoked token laptop"), str(notice))
    try:
        revoked = token_grant("admin", pat, "team/app", "pull")
    except urllib.error.HTTPError as error:
        revoked = error.code
    check("and the revoked token is refused at once", revoked == 401, str(revoked))
    check("the other token still works", token_grant("admin", kept, "team/app", "pull") == "pull", "")

    driver.get(BASE + "/ui/admin/audit?account=ops")
    actions = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:nth-child(3)")]
    actors = {td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:nth-child(2)")}
    check("the audit log shows the change, by admin", "user.add" in actions and "admin" in actors, f"{actions} {actors}")
    check("the audit filter keeps the account it filters by", driver.find_element(By.ID, "a-account").get_attribute("value") == "ops",
          driver.find_element(By.ID, "a-account").get_attribute("value"))
    driver.get(BASE + "/ui/admin/audit")
    size = driver.get_window_size()
    driver.set_window_size(1280, 900)
    broken = driver.execute_script("""
        const lines = el => { const r = document.createRange(); r.selectNodeContents(el);
            return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; };
        return [...document.querySelectorAll('table.list th, table.list td.word')]
            .filter(el => el.textContent.trim() && lines(el) > 1).map(el => el.textContent);""")
    check("at 1280 px no audit header, time, action, address or result is broken across lines", not broken, str(broken[:5]))
    details = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:nth-child(7)")]
    check("audit details read as words, not JSON", details and not any('{"' in d or '["' in d for d in details),
          str([d for d in details if '{"' in d or '["' in d][:3]))
    driver.set_window_size(size["width"], size["height"])

    # Every page at desktop and phone width.
    driver.get(BASE + "/ui/repo/team/app")
    manifest = urllib.parse.urlparse(driver.find_element(By.CSS_SELECTOR, "table.list tbody td:nth-child(2) a").get_attribute("href")).path
    pages = ["/ui/home", "/ui/", "/ui/repo/team/app", manifest, "/ui/repo/signed/app", "/ui/repo/signed/app?artifacts=1", "/ui/repo/team/multi", "/ui/repo/team/app/_delete?tag=v1", "/ui/repo/no/such",
             "/ui/admin/users", "/ui/admin/users/ops", "/ui/admin/users/ops?confirm=delete", "/ui/admin/rules",
             "/ui/admin/rules?account=ops&repository=ops/tool&actions=push", "/ui/admin/robots", "/ui/admin/audit", "/ui/admin/pulls",
             "/ui/admin/tokens?account=ops", "/ui/admin/webhooks", "/ui/admin/storage", "/ui/tokens", "/ui/admin/policies"]
    problems = tour(pages)
    check(f"all {len(pages)} pages fit 1280 and 390 px: no sideways scrolling, no word broken in headers and names, "
          f"every stacked cell labelled (screenshots in {SCREENSHOTS})",
          not problems, "; ".join(problems))
    check(f"in Chromium's accessibility tree every field, button and link of those pages has a name, every table header cells, "
          f"and every control a visible focus", not accessibility, "; ".join(accessibility[:8]))

    # A forged sign-out (no CSRF token) is refused, and the session survives it.
    session = driver.get_cookie("berth_session")["value"]
    request = urllib.request.Request(BASE + "/ui/logout", data=b"csrf=forged", method="POST",
                                     headers={"Cookie": f"berth_session={session}"})
    try:
        status = urllib.request.urlopen(request).status
    except urllib.error.HTTPError as error:
        status = error.code
    check("a POST without the page's CSRF token is 403", status == 403, str(status))

    sign_out()
    check("signing out ends the session", driver.current_url.endswith("/ui/login") and not driver.get_cookie("berth_session"),
          str(driver.get_cookie("berth_session")))

    sign_in("dev", DEV_PW)
    pushable = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "ul.columns a")]
    check("dev's home page: it may push nowhere, and no storage section (not an administrator)",
          not pushable and not driver.find_elements(By.XPATH, "//h2[text()='Storage']") and "push to 0 repositories" in driver.page_source,
          driver.find_element(By.TAG_NAME, "main").text[:300])
    driver.get(BASE + "/ui/")
    check("dev sees only what its rule lets it pull", visible_repositories() == ["team/app", "team/multi"], str(visible_repositories()))
    driver.get(BASE + "/ui/admin/users")
    check("dev does not get the administration pages: not allowed, not 'not found'", "Not allowed" in driver.find_element(By.TAG_NAME, "h1").text
          and not driver.find_elements(By.CSS_SELECTOR, "nav.admin"), driver.find_element(By.TAG_NAME, "h1").text)
    dev_csrf = driver.find_element(By.CSS_SELECTOR, "header form input[name=csrf]").get_attribute("value")
    request = urllib.request.Request(BASE + "/ui/admin/users", data=f"csrf={dev_csrf}&action=add&name=evil&password=evil-password".encode(),
                                     method="POST", headers={"Cookie": f"berth_session={driver.get_cookie('berth_session')['value']}",
                                                             "Content-Type": "application/x-www-form-urlencoded"})
    try:
        status = urllib.request.urlopen(request).status
    except urllib.error.HTTPError as error:
        status = error.code
    check("and a forged admin POST from dev, with dev's own CSRF token, is 403", status == 403, str(status))
    driver.get(BASE + "/ui/repo/ops/tool")
    check("and another repository's page is not found, as if it did not exist",
          "Not found" in driver.find_element(By.TAG_NAME, "h1").text, driver.find_element(By.TAG_NAME, "h1").text)

    # dev may delete in team/app (its first rule), only pull elsewhere in team/*.
    driver.get(BASE + "/ui/repo/team/multi")
    check("no delete button where the rules do not grant delete",
          not driver.find_elements(By.PARTIAL_LINK_TEXT, "Delete"), driver.find_element(By.TAG_NAME, "main").text[:200])
    csrf = driver.find_element(By.CSS_SELECTOR, "header form input[name=csrf]").get_attribute("value")
    session = driver.get_cookie("berth_session")["value"]

    def forged(path, body):
        request = urllib.request.Request(BASE + path, data=body.encode(), method="POST",
                                         headers={"Cookie": f"berth_session={session}",
                                                  "Content-Type": "application/x-www-form-urlencoded"})
        try:
            return urllib.request.urlopen(request).status
        except urllib.error.HTTPError as error:
            return error.code

    status = forged("/ui/repo/team/multi/_delete", f"csrf={csrf}&tag=v1")
    check("and a POST there, even with a valid CSRF token, is 403", status == 403, str(status))
    status = forged("/ui/repo/team/app/_delete", "tag=hostile")
    check("a delete POST without the CSRF token is 403", status == 403, str(status))

    driver.get(BASE + "/ui/repo/team/app")
    submit(driver.find_element(By.XPATH, "//tr[td[1][text()='hostile']]//a[text()='Delete tag']"))
    heading = driver.find_element(By.TAG_NAME, "h1").text
    check("deleting a tag asks first, naming it", heading == "Delete the tag hostile?", heading)
    submit(driver.find_element(By.CSS_SELECTOR, "form.confirm button"))
    tags = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td:first-child")]
    check("after confirming, the tag is gone and the other stays", tags == ["v1"], str(tags))
    notice = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "p.notice")]
    check("and the page says so", notice == ["Deleted the tag hostile."], str(notice))

    # A tampered cookie signs the visitor out.
    value = driver.get_cookie("berth_session")["value"]
    payload, signature = value.split(".")
    driver.delete_cookie("berth_session")
    driver.add_cookie({"name": "berth_session", "value": payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature,
                       "path": "/"})
    driver.get(BASE + "/ui/")
    check("a tampered session cookie is not accepted", driver.current_url.endswith("/ui/login"), driver.current_url)
    driver.delete_cookie("berth_session")
    driver.add_cookie({"name": "berth_session", "value": value, "path": "/"})
    driver.get(BASE + "/ui/")
    check("the untouched cookie still is", visible_repositories() == ["team/app", "team/multi"], driver.current_url)

    # Disabling the account ends its session at the next click (after the server's next
    # look at the accounts database, within about a second).
    subprocess.run([BERTH, "user", "disable", "dev", "--data", DATA], check=True, capture_output=True)
    deadline = time.time() + 30
    while True:
        driver.get(BASE + "/ui/")
        if driver.current_url.endswith("/ui/login") or time.time() > deadline:
            break
        time.sleep(0.2)
    check("once dev is disabled, a page within the server's next poll asks it to sign in", driver.current_url.endswith("/ui/login"),
          driver.current_url)

    driver.set_window_size(320, 800)
    sign_in("admin", ADMIN_PW)
    driver.get(BASE + "/ui/repo/ops/tool")
    submit(driver.find_element(By.CSS_SELECTOR, "table.list tbody td:nth-child(2) a"))
    submit(driver.find_element(By.PARTIAL_LINK_TEXT, "Delete this manifest"))
    going = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "ul.going li")]
    button = driver.find_element(By.CSS_SELECTOR, "form.confirm button")
    check("deleting a manifest names every tag that goes with it", going == ["v1"] and button.text == "Delete manifest and 1 tag",
          f"{going} {button.text}")
    submit(button)
    check("and then the repository has no tags", not driver.find_elements(By.CSS_SELECTOR, "table.list tbody tr"),
          driver.find_element(By.TAG_NAME, "main").text[:200])
    notice = [n.text for n in driver.find_elements(By.CSS_SELECTOR, "p.notice")]
    check("and the page confirms the manifest is gone", len(notice) == 1 and notice[0].startswith("Deleted the manifest sha256:"), str(notice))
    check("and offers no pull commands for a tag that is gone", not driver.find_elements(By.CSS_SELECTOR, ".pull code"),
          str([c.text for c in driver.find_elements(By.CSS_SELECTOR, ".pull code")]))
    # The empty repository itself can go.
    submit(driver.find_element(By.LINK_TEXT, "Delete this repository"))
    button = driver.find_element(By.CSS_SELECTOR, "form.confirm button")
    check("deleting the repository asks first", button.text == "Delete repository" and "ops/tool" in driver.find_element(By.TAG_NAME, "h1").text,
          f"{button.text} {driver.find_element(By.TAG_NAME, 'h1').text}")
    submit(button)
    notice = driver.find_elements(By.CSS_SELECTOR, "p.notice")
    check("then it is gone from the list, and the list says so", "ops/tool" not in visible_repositories()
          and notice and notice[0].text == "Deleted the repository ops/tool.", f"{visible_repositories()} {[n.text for n in notice]}")
    driver.get(BASE + "/ui/admin/audit?action=repository.delete")
    check("the audit log records who deleted it", "ops/tool" in driver.find_element(By.TAG_NAME, "main").text
          and "admin" in driver.find_element(By.TAG_NAME, "main").text, driver.find_element(By.TAG_NAME, "main").text[:300])
    driver.get(BASE + "/ui/")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    check(f"readable at 320 px: no sideways scrolling ({width} px)", width <= 330, str(width))

    # Anonymous browsing: with a rule for anonymous pulls of team/multi (added with the CLI
    # while the server runs), a visitor who is not signed in sees that and nothing else.
    sign_out()
    driver.get(BASE + "/ui/")
    check("without an anonymous rule, a visitor who is not signed in is asked to sign in", driver.current_url.endswith("/ui/login"),
          driver.current_url)
    subprocess.run([BERTH, "acl", "add", "--data", DATA, "--account", "", "--name", "team/multi", "--actions", "pull", "--position", "1"],
                   check=True, capture_output=True)
    deadline = time.time() + 30
    while True:
        driver.get(BASE + "/ui/")
        if not driver.current_url.endswith("/ui/login") or time.time() > deadline:
            break
        time.sleep(0.2)
    check("with one, that visitor sees the repository it allows and no other", visible_repositories() == ["team/multi"],
          f"{driver.current_url} {visible_repositories() if not driver.current_url.endswith('/ui/login') else ''}")
    driver.get(BASE + "/ui/repo/team/multi")
    check("its page lists the tags and offers no delete", "v1" in driver.page_source and not driver.find_elements(By.PARTIAL_LINK_TEXT, "Delete"),
          driver.find_element(By.TAG_NAME, "main").text[:200])
    driver.get(BASE + "/ui/repo/team/app")
    check("another repository's page is not found for them", "Not found" in driver.find_element(By.TAG_NAME, "h1").text,
          driver.find_element(By.TAG_NAME, "h1").text)

    # Signing in never shows less: a signed-in account whose rules do not reach team/multi
    # still sees what anonymous visitors may pull.
    sign_in("ops", "ops-password-1")
    driver.get(BASE + "/ui/")
    seen = visible_repositories()
    check("signed in as ops (rules for ops/* only), team/multi that anonymous visitors see is listed too", "team/multi" in seen, str(seen))
    driver.get(BASE + "/ui/repo/team/multi")
    check("and its page opens", "v1" in driver.page_source, driver.find_element(By.TAG_NAME, "main").text[:200])
    sign_out()

    # Pages answered 400/401/404 on purpose are logged as failed loads; anything else (a CSP
    # violation, a script error, a missing asset) is a fault.
    for entry in driver.get_log("browser"):
        message = entry.get("message", "")
        if entry.get("level") == "SEVERE" and not any(f"{path} - Failed to load resource" in message for path in ("/ui/login", "/ui/repo/ops/tool", "/ui/admin/users", "/ui/repo/team/app", "/ui/repo/no/such", "/ui/admin/users/nobody-here", "/ui/tokens", "/ui/admin/policies")):
            console_errors.append(message)
    check("no errors in the browser console (no CSP violation, no missing asset)", not console_errors, str(console_errors[:3]))
finally:
    driver.quit()

sys.exit(1 if FAILED else 0)
