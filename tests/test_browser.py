"""The activation flow in headless Chromium (Debian's chromium + chromium-driver, selenium)."""

import os
import shutil
from pathlib import Path

import pytest
from conftest import unavailable
from smtpbox import link_in
from test_web import JAN, bind, mail_to, site  # noqa: F401 - site is the fixture

OUTPUT = Path(__file__).parent / "output"
DRIVER = "/usr/bin/chromedriver"
GOOD = "Zielony rower pod chmurą 7"


@pytest.fixture
def browser(tmp_path):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        unavailable(f"selenium is not installed: {exc}")
    binary = shutil.which("chromium")
    if binary is None or not os.path.exists(DRIVER):
        unavailable("chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1000,1100", "--lang=pl"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "pl-PL,pl"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def shot(driver, name):
    OUTPUT.mkdir(exist_ok=True)
    driver.save_screenshot(str(OUTPUT / f"{name}.png"))


def submitted(driver, locator, text=""):
    """The element at `locator` on the page a form submit leads to.

    A click on submit returns before the next page has loaded, so looking the element up at once
    can find the old page (it failed in CI that way); wait for it instead, up to ten seconds.
    """
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element("css selector", "button[type=submit]").click()
    wait = WebDriverWait(driver, 10)
    if text:
        wait.until(ec.text_to_be_present_in_element(locator, text))
    return wait.until(ec.presence_of_element_located(locator))


def test_activation_in_a_real_browser(site, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(site.url + "/")
    assert browser.find_element(By.CSS_SELECTOR, "label[for=identifier]").text == "PESEL lub adres e-mail"
    shot(browser, "access")
    browser.get(link_in(mail_to(site, "jan.nowak@uczen.example.pl")[0]))
    browser.find_element(By.ID, "password").send_keys("qwerty123456")
    browser.find_element(By.ID, "confirm").send_keys("qwerty123456")
    summary = submitted(browser, (By.CSS_SELECTOR, ".error-summary"))
    assert "zbyt popularne" in summary.text
    shot(browser, "password-errors")
    browser.find_element(By.ID, "password").send_keys(GOOD)
    browser.find_element(By.ID, "confirm").send_keys(GOOD)
    assert submitted(browser, (By.TAG_NAME, "h1"), "Hasło ustawione").text == "Hasło ustawione"
    shot(browser, "done")
    assert bind(site.slapd, JAN, GOOD)
