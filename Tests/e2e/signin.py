"""Signing in through a real OpenID provider in a real browser: headless Chromium driven by
Selenium, through the provider's own login form (Tests/e2e/oidc-provider.py), to Berth's web
UI and to docker_auth's /oidc_auth page. Arguments: Berth's base URL (as localhost), the
provider's issuer (as 127.0.0.1: another site), and a file to write the docker passwords
the result page showed (alice's first line) for signin.sh to push with.
Prints "  ok   NAME" / "  FAIL NAME" lines; exits 1 if any failed."""
import os
import sys
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, ISSUER, PASSWORDS = sys.argv[1:4]
FAILED = 0
SCREENSHOTS = os.environ.get("BERTH_SCREENSHOTS") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../.build/screenshots")
os.makedirs(SCREENSHOTS, exist_ok=True)


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
wait = WebDriverWait(driver, 20)
provider = urllib.parse.urlparse(ISSUER)


def at(url_prefix):
    return lambda d: d.current_url.startswith(url_prefix)


def provider_login(user, password):
    """The provider's own form: Berth never sees the password."""
    wait.until(at(f"{provider.scheme}://{provider.netloc}/accounts/login/"))
    driver.find_element(By.ID, "id_username").send_keys(user)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()


def screenshots(name):
    for width in (1280, 390):
        driver.set_window_size(width, 900)
        driver.save_screenshot(os.path.join(SCREENSHOTS, f"{name}-{width}.png"))
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        check(f"{name} fits {width} px (no sideways scrolling)", overflow <= 0, f"{overflow}px")
    driver.set_window_size(1280, 900)


try:
    driver.get(BASE + "/ui/login")
    buttons = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "p.provider a")]
    check("the sign-in page offers each provider beside the password form",
          buttons == ["Sign in with GitHub", "Sign in with Test provider"] and driver.find_elements(By.ID, "password"), str(buttons))
    screenshots("signin-login")
    driver.find_element(By.LINK_TEXT, "Sign in with Test provider").click()
    provider_login("alice", "alice-password-1")
    wait.until(at(BASE + "/ui/home"))
    who = driver.find_element(By.CSS_SELECTOR, ".who").text
    check("alice signs in through the provider's form and lands on the home page, signed in as her email",
          who == "alice@example.test", f"{driver.current_url} {who}")

    # docker_auth's page: the provider remembers her, so it comes straight back.
    driver.get(BASE + "/oidc_auth")
    wait.until(at(BASE + "/oidc_auth"))
    secret = driver.find_elements(By.CSS_SELECTOR, ".secret-value")
    password = secret[0].text if secret else ""
    check("/oidc_auth ends on a page with a generated docker password, naming her", password.startswith("berth_pat_") and
          "Signed in as alice@example.test." in driver.find_element(By.CSS_SELECTOR, ".secret").text, driver.page_source[:300])
    commands = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "ul.commands code")]
    host = urllib.parse.urlparse(BASE).netloc
    check("with docker, podman and nerdctl login lines for this registry",
          commands == [f"{tool} login -u alice@example.test -p {password} {host}" for tool in ("docker", "podman", "nerdctl")], str(commands))
    screenshots("signin-docker-password")
    with open(PASSWORDS, "w") as out:
        out.write(password + "\n")
    driver.get(BASE + "/oidc_auth")
    wait.until(at(BASE + "/oidc_auth"))
    again = driver.find_element(By.CSS_SELECTOR, ".secret-value").text
    driver.get(BASE + "/ui/tokens")
    names = [td.text.split(" ")[:3] for td in driver.find_elements(By.CSS_SELECTOR, "table.list tbody td.name")]
    check("signing in there again gives another password; both are listed on her Access tokens page", again != password and
          names == [["signed", "in", "with"]] * 2, str(names))
    with open(PASSWORDS, "w") as out:
        out.write(again + "\n")

    # Another person in the same browser: signed out of Berth and of the provider first.
    driver.find_element(By.CSS_SELECTOR, "header form button").click()
    wait.until(at(BASE + "/ui/login"))
    driver.delete_all_cookies()
    driver.get(f"{provider.scheme}://{provider.netloc}/accounts/login/")
    driver.delete_all_cookies()
    driver.get(BASE + "/ui/login?next=/ui/")
    driver.find_element(By.LINK_TEXT, "Sign in with Test provider").click()
    provider_login("bob", "bob-password-1")
    wait.until(lambda d: d.current_url.startswith(BASE + "/ui/") and "/ui/login" not in d.current_url)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".who"))
    check("bob signs in too, and goes where he was going (next)", driver.find_element(By.CSS_SELECTOR, ".who").text == "bob@example.test"
          and urllib.parse.urlparse(driver.current_url).path == "/ui/", driver.current_url)

    # GitHub (a named mock of it): octo is in acme, mallory is not.
    def sign_out_everywhere():
        driver.get(BASE + "/ui/home")
        if driver.find_elements(By.CSS_SELECTOR, "header form button"):
            driver.find_element(By.CSS_SELECTOR, "header form button").click()
            wait.until(at(BASE + "/ui/login"))
        driver.delete_all_cookies()
        driver.get(f"{provider.scheme}://{provider.netloc}/accounts/login/")
        driver.delete_all_cookies()

    def github_login(user, password):
        driver.get(BASE + "/ui/login")
        driver.find_element(By.LINK_TEXT, "Sign in with GitHub").click()
        wait.until(lambda d: d.find_elements(By.ID, "login_field"))
        driver.find_element(By.ID, "login_field").send_keys(user)
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.ID, "signin-submit").click()

    sign_out_everywhere()
    github_login("octo", "octo-password-1")
    wait.until(at(BASE + "/ui/home"))
    check("octo signs in with GitHub", driver.find_element(By.CSS_SELECTOR, ".who").text == "octo", driver.current_url)
    driver.get(BASE + "/github_auth")
    wait.until(at(BASE + "/github_auth"))
    secret = driver.find_elements(By.CSS_SELECTOR, ".secret-value")
    octo_password = secret[0].text if secret else ""
    check("/github_auth gives him a docker password", octo_password.startswith("berth_pat_"), driver.page_source[:300])
    with open(PASSWORDS, "a") as out:
        out.write(octo_password + "\n")
    sign_out_everywhere()
    github_login("mallory", "mallory-password-1")
    wait.until(lambda d: d.current_url.startswith(BASE))
    message = driver.find_element(By.TAG_NAME, "main").text
    check("mallory, not in acme, is refused with the reason", "mallory is not a member of acme" in message
          and not driver.find_elements(By.CSS_SELECTOR, ".who"), message[:300])
    screenshots("signin-refused")
except WebDriverException as error:
    check("the browser session ran to the end", False, f"{error.msg} at {driver.current_url}")
finally:
    driver.quit()

sys.exit(1 if FAILED else 0)
