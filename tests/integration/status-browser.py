"""status-browser.py: the status page in headless Chromium (selenium),
for status.sh. Logs in, finds the dead event, checks that hostile text
is inert, takes screenshots, replays the event and waits (bounded) until
it is done. Each check is one line "ok|not ok<TAB>what<TAB>detail"; the
pids of chromedriver and the browsers it started go to PIDFILE so that
status.sh can make sure none is left.

usage: status-browser.py BASE PASSWORD OUTDIR PROFILE PIDFILE EVENT-ID
"""
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base, password, outdir, profile, pidfile, dead_id = sys.argv[1:7]
PAYLOAD_MARK = "</pre><script>alert(1)</script>"


def say(good, what, detail=""):
    print("%s\t%s\t%s" % ("ok" if good else "not ok", what,
                          str(detail).replace("\n", " ")[:300]), flush=True)


def children(pid):
    """Every descendant of pid, from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


def no_alert(drv):
    try:
        a = drv.switch_to.alert
        text = a.text
        a.dismiss()
        return False, text
    except NoAlertPresentException:
        return True, ""


def wait_for(pred, secs=20):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            if pred():
                return True
        except Exception:  # the page may be between loads
            pass
        time.sleep(0.2)
    return False


opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--no-first-run",
          "--user-data-dir=" + profile, "--window-size=1000,1300"):
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
service = Service("/usr/bin/chromedriver", log_output=os.path.join(
    profile, "..", "chromedriver.log"))
drv = webdriver.Chrome(service=service, options=opts)
drv.set_page_load_timeout(30)
pids = [service.process.pid] + children(service.process.pid)
with open(pidfile, "w") as f:
    f.write("\n".join(str(p) for p in pids) + "\n")
try:
    drv.get(base + "/")
    say(len(drv.find_elements(By.ID, "password")) == 1,
        "without a session the page is the login form")
    drv.find_element(By.ID, "password").send_keys(password)
    drv.find_element(By.ID, "login").click()
    say(wait_for(lambda: drv.find_elements(By.ID, "counts")),
        "logged in: the overview shows the counts", drv.current_url)
    dead = drv.find_element(By.ID, "dead").text
    say(dead_id in dead, "the dead event is in the dead list", dead)
    shot = os.path.join(outdir, "overview.png")
    say(drv.save_screenshot(shot), "screenshot of the overview", shot)
    print("shot\t" + shot, flush=True)

    link = None
    for row in drv.find_elements(By.CSS_SELECTOR, "#dead tr"):
        if dead_id in row.text:
            link = row.find_element(By.TAG_NAME, "a")
    link.click()
    say(wait_for(lambda: drv.find_element(By.ID, "state").text == "dead"),
        "the event page says dead")
    payload = drv.find_element(By.ID, "payload").text
    say(PAYLOAD_MARK in payload,
        "the payload's </pre><script> is shown as text", payload)
    hist = drv.find_element(By.ID, "history").text
    say("exit code 100" in hist and "<b>db down</b>" in hist,
        "the history shows the exit code and the stderr tail as text", hist)
    hdrs = drv.find_element(By.ID, "headers").text
    say("<img src=x onerror=alert(3)>" in hdrs,
        "a header kept with HTML is shown as text", hdrs)
    good, text = no_alert(drv)
    say(good, "no alert on the event page", text)
    say(drv.execute_script(
        "return document.querySelectorAll('script, img').length") == 0,
        "no script or img element on the event page")
    shot = os.path.join(outdir, "event.png")
    say(drv.save_screenshot(shot), "screenshot of the event page", shot)
    print("shot\t" + shot, flush=True)

    drv.find_element(By.ID, "replay").click()
    say(wait_for(lambda: drv.find_elements(By.ID, "flash")),
        "the replay POST answered with the event page", drv.current_url)

    def done():
        drv.refresh()
        return drv.find_element(By.ID, "state").text == "done"
    say(wait_for(done, 30), "after the replay the event is done",
        drv.find_element(By.ID, "state").text)
    hist = drv.find_element(By.ID, "history").text
    say("replayed by status page" in hist,
        "the history records the replay by the status page", hist)

    # A filter value with HTML comes back inert, in the input's value.
    evil = '"><script>alert(5)</script>'
    drv.get(base + "/?event=%22%3E%3Cscript%3Ealert(5)%3C%2Fscript%3E")
    val = drv.find_element(By.NAME, "event").get_attribute("value")
    say(val == evil, "an event filter with HTML stays text", val)
    good, text = no_alert(drv)
    say(good, "no alert on the filtered overview", text)
    logs = drv.get_log("browser")
    say(not any("alert" in (e.get("message") or "") for e in logs),
        "nothing about alert in the browser console",
        [e.get("message") for e in logs])
except Exception as exc:  # one failure line, then the clean-up
    say(False, "the browser session went through", repr(exc))
finally:
    pids = [service.process.pid] + children(service.process.pid)
    with open(pidfile, "w") as f:
        f.write("\n".join(str(p) for p in pids) + "\n")
    drv.quit()
