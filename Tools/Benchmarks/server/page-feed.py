"""Pages through a user's whole change feed on one keep-alive connection; prints the count and time."""
import http.client
import json
import sys
import time
from urllib.parse import urlparse

url, token = urlparse(sys.argv[1]), sys.argv[2]
connection = http.client.HTTPConnection(url.hostname, url.port)
headers = {"Authorization": "Bearer " + token}
cursor, total, started = None, 0, time.perf_counter()
while True:
    path = "/v1/changes?limit=1000" + (f"&after={cursor}" if cursor else "")
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    page = json.loads(response.read())
    assert response.status == 200, page
    total += len(page["changes"])
    cursor = page["cursor"]
    if not page["hasMore"]:
        break
print(f"{total} {time.perf_counter() - started:.3f}")
