"""The fake's login page: plain HTML, no assets, every value escaped."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from django_everreal.testing.routes import AUTHORIZE_PATH

#: The OAuth parameters the form carries from the GET to its POST.
OAUTH_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Fake EverReal</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 24rem; margin: 3rem auto; padding: 0 1rem; }}
label {{ display: block; margin-top: 1rem; }}
input {{ display: block; width: 100%; box-sizing: border-box; padding: .4rem; }}
.actions {{ margin-top: 1.5rem; display: flex; gap: .5rem; }}
.error {{ color: #a00; border: 1px solid #a00; padding: .5rem; }}
</style>
</head>
<body>
<main>
{content}
</main>
</body>
</html>
"""


def login_page(
    params: Mapping[str, str], client_id: str, email: str = "", error: str = ""
) -> str:
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
        for name in OAUTH_PARAMS
        if name in params
    )
    alert = (
        f'<p class="error" role="alert" id="login-error">{escape(error)}</p>'
        if error
        else ""
    )
    described = ' aria-describedby="login-error"' if error else ""
    content = f"""<h1>Log in to EverReal</h1>
<p><strong>{escape(client_id)}</strong> asks to use your EverReal account.</p>
{alert}
<form method="post" action="{AUTHORIZE_PATH}">
{hidden}
<label for="email">Email</label>
<input type="email" id="email" name="email" value="{escape(email)}" autocomplete="username" required autofocus{described}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{described}>
<div class="actions">
<button type="submit" name="action" value="login">Log in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</div>
</form>"""
    return _PAGE.format(title="Log in", content=content)


def error_page(message: str) -> str:
    """Shown instead of redirecting: the redirect URI cannot be trusted."""
    content = f"""<h1>This login link is not valid</h1>
<p role="alert">{escape(message)}</p>"""
    return _PAGE.format(title="Error", content=content)
