"""flask.session on libsession: a view counter with login and logout.

    pip install flask ./bindings/python
    SESSION_SECRET=... flask --app bindings/python/examples/flask_app.py run --port 8080
"""

import os
import sys

from flask import Flask, redirect, session
from werkzeug.wrappers import Response

from libsession import Config, MemoryStore
from libsession.flask import LibsessionInterface, current_session

secret = os.environ.get("SESSION_SECRET")
if not secret:
    secret = "development secret, not for production use!"
    print("warning: SESSION_SECRET is not set; using a fixed development secret", file=sys.stderr)

config = Config(secret=secret, max_age=24 * 3600 * 1000)
app = Flask(__name__)
app.session_interface = LibsessionInterface(config, MemoryStore())


@app.get("/")
def index() -> str:
    session["views"] = session.get("views", 0) + 1
    return f"views: {session['views']}, user: {session.get('user', '(nobody)')}\n"


@app.get("/login")
def login() -> Response:
    current_session().regenerate()  # a new session ID on a change of privilege
    session["user"] = "ada"
    return redirect("/")


@app.get("/logout")
def logout() -> Response:
    current_session().destroy()  # the stored session is gone; the browser forgets the cookie
    response = redirect("/")
    response.delete_cookie(config.name)
    return response
