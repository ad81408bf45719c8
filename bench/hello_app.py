"""A bare Flask "hello" app, served by gunicorn in bench/run.py as the floor of a request.

The portal has no such route (its smallest is /healthz, which also asks the database); this
module shows what Flask + gunicorn alone cost on the machine. Not part of the portal.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
