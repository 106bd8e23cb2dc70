"""Password reset: offered only where mail is configured (RMOS_EMAIL_URL), and then it sends one."""

from __future__ import annotations

import pytest
from django.core import mail

from rmos_site import env
from tests.factories import make_user

pytestmark = pytest.mark.django_db

RESET_PAGES = ["/accounts/password_reset/", "/accounts/password_reset/done/", "/accounts/reset/done/"]


def test_without_mail_there_is_no_reset_to_promise_a_mail(client, settings):
    """Before, the reset page said "sent" while the log showed ConnectionRefusedError."""
    settings.PASSWORD_RESET_BY_MAIL = False
    make_user("ada", password="pw-123456").__class__.objects.filter(username="ada").update(email="ada@example.com")
    for page in RESET_PAGES:
        assert client.get(page).status_code == 404, page
    assert client.post(RESET_PAGES[0], {"email": "ada@example.com"}).status_code == 404
    login = client.get("/accounts/login/").content.decode()
    assert "password_reset" not in login and "Ask an administrator to set a new one" in login


def test_with_mail_the_reset_sends_a_link_that_sets_a_new_password(client, settings):
    settings.PASSWORD_RESET_BY_MAIL = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = make_user("ada", password="pw-123456")
    user.email = "ada@example.com"
    user.save()
    assert 'href="/accounts/password_reset/"' in client.get("/accounts/login/").content.decode()
    response = client.post(RESET_PAGES[0], {"email": "ada@example.com"})
    assert response.status_code == 302 and len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    form = client.get(link.split("testserver", 1)[1], follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": "N3w-pass-phrase!", "new_password2": "N3w-pass-phrase!"}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("N3w-pass-phrase!")


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "smtp+tls://bot%40example.com:s3cret@mail.example.com",
            ("mail.example.com", 587, "bot@example.com", True, False),
        ),
        ("smtps://mail.example.com:2465", ("mail.example.com", 2465, "", False, True)),
        ("smtp://localhost", ("localhost", 25, "", False, False)),
    ],
)
def test_the_mail_server_is_read_from_the_environment(url, expected):
    parsed = env.parse_email_url(url)
    assert (
        tuple(parsed[k] for k in ("EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_USE_TLS", "EMAIL_USE_SSL"))
        == expected
    )


def test_a_bad_mail_url_fails_at_start_up(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    monkeypatch.setenv("RMOS_EMAIL_URL", "http://mail.example.com")
    with pytest.raises(env.ConfigurationError, match="RMOS_EMAIL_URL"):
        env.load()
