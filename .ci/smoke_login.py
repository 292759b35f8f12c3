"""Log in through the real login form and check the catalog shows the Kinesis card."""

import http.cookiejar
import re
import sys
import urllib.parse
import urllib.request

base, username, password = sys.argv[1:4]
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
login_page = opener.open(f"{base}/login/").read().decode()
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
form = urllib.parse.urlencode(
    {"username": username, "password": password, "csrfmiddlewaretoken": token}
).encode()
request = urllib.request.Request(f"{base}/login/", data=form, headers={"Referer": f"{base}/login/"})
catalog = opener.open(request).read().decode()
assert "Amazon Kinesis" in catalog, "catalog did not show the Amazon Kinesis card"
assert "Beta" in catalog, "catalog card is missing its Beta badge"
print(f"smoke: logged in as {username} and saw the Amazon Kinesis (Beta) card")
