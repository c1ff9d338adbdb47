import httpx
from tests.browser.livesite import make_context, serve, load

def test_dbg():
    ctx = make_context()
    with serve(ctx) as live:
        live.call(load, ctx.store)
        with httpx.stream("GET", live.url + "/api/updates/stream?lastEventId=0", timeout=5) as r:
            print("STATUS", r.status_code, r.headers)
            n = 0
            for line in r.iter_lines():
                print("LINE", line[:200]); n += 1
                if n > 6: break
        from sse_starlette.sse import AppStatus
        print("APPSTATUS", AppStatus.should_exit)
