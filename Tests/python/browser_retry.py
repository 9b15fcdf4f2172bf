#!/usr/bin/env python3
"""The dashboard in a real browser (headless Chromium through chromedriver and Selenium), as an operator uses it:
open the overview, follow the failed count of the job's queue to the jobs list filtered by failed, open the job,
press Retry, and see the job pending. Started by Tests/SmrtDashboardTests/BrowserTests.swift, which checks the
database afterwards.

    browser_retry.py --url URL --job-id ID --queue QUEUE --chromium PATH --chromedriver PATH --profile DIR
                     [--screenshot-dir DIR]

Every wait is a WebDriverWait with a deadline. Exit 0: every step passed; 1: a step failed (the step, the page's
URL and the text of the page on stderr, and a screenshot in --screenshot-dir); 2: bad arguments.
"""
import argparse
import os
import sys

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

WAIT_SECONDS = 20


class StepFailed(Exception):
    pass


def browser(args):
    options = webdriver.ChromeOptions()
    options.binary_location = args.chromium
    for flag in ("--headless=new", "--window-size=1280,900", "--disable-dev-shm-usage", "--disable-gpu",
                 "--no-first-run", "--user-data-dir=" + args.profile):
        options.add_argument(flag)
    if os.geteuid() == 0:
        # Chromium refuses to run as root inside its sandbox.
        options.add_argument("--no-sandbox")
    service = Service(executable_path=args.chromedriver, log_output=os.path.join(args.profile, "chromedriver.log"))
    return webdriver.Chrome(service=service, options=options)


def step(driver, what, condition):
    try:
        return WebDriverWait(driver, WAIT_SECONDS).until(condition)
    except TimeoutException:
        raise StepFailed(f"{what}: not within {WAIT_SECONDS} s")


def text_is(locator, expected):
    def check(driver):
        elements = driver.find_elements(*locator)
        return elements and elements[0].text.strip() == expected and elements[0]
    return check


def run(driver, args):
    job = str(args.job_id)
    driver.get(args.url)
    step(driver, "the overview shows its queue table", EC.presence_of_element_located((By.ID, "queues-table")))
    total_failed = step(driver, "the overview shows the failed total", EC.presence_of_element_located((By.ID, "total-failed")))
    if total_failed.text.strip() in ("", "0"):
        raise StepFailed(f"the overview's failed total is '{total_failed.text}', expected at least 1")

    row = f"tr.queue-row[data-queue='{args.queue}']"
    link = step(driver, f"the overview's failed count of queue {args.queue} is a link",
                EC.element_to_be_clickable((By.CSS_SELECTOR, f"{row} td.count-failed a")))
    link.click()

    job_row = f"tr.job-row[data-job-id='{job}']"
    step(driver, f"the jobs list lists job {job}", EC.presence_of_element_located((By.CSS_SELECTOR, job_row)))
    statuses = {r.get_attribute("data-status") for r in driver.find_elements(By.CSS_SELECTOR, "tr.job-row")}
    if statuses != {"failed"}:
        raise StepFailed(f"the jobs list reached from the failed count shows jobs of status {sorted(statuses)}")
    selected = driver.find_element(By.ID, "filter-status").get_attribute("value")
    if selected != "failed":
        raise StepFailed(f"the jobs list's status filter is '{selected}', expected 'failed'")
    step(driver, f"job {job}'s link", EC.element_to_be_clickable((By.CSS_SELECTOR, f"{job_row} a.job-link"))).click()

    step(driver, f"job {job}'s page shows it failed", text_is((By.ID, "job-status"), "failed"))
    step(driver, "the job page's Retry button", EC.element_to_be_clickable((By.ID, "job-retry"))).click()
    step(driver, "after Retry the job page shows it pending", text_is((By.ID, "job-status"), "pending"))
    flash = step(driver, "after Retry the page says it worked", EC.presence_of_element_located((By.ID, "flash")))
    if "flash-ok" not in (flash.get_attribute("class") or "").split():
        raise StepFailed(f"after Retry the page says: {flash.text!r} (class {flash.get_attribute('class')!r})")
    if f"/jobs/{job}" not in driver.current_url:
        raise StepFailed(f"after Retry the browser is at {driver.current_url}, not job {job}'s page")
    print(f"job {job}: failed -> Retry -> pending, at {driver.current_url}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--job-id", type=int, required=True)
    parser.add_argument("--queue", default="default")
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--chromedriver", required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--screenshot-dir")
    args = parser.parse_args()
    driver = browser(args)
    try:
        run(driver, args)
        return 0
    except (StepFailed, WebDriverException) as error:
        print(f"browser_retry: {error}", file=sys.stderr)
        print(f"browser_retry: at {driver.current_url}; the page says:\n{driver.find_element(By.TAG_NAME, 'body').text}",
              file=sys.stderr)
        if args.screenshot_dir:
            driver.save_screenshot(os.path.join(args.screenshot_dir, "browser-retry-failure.png"))
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
