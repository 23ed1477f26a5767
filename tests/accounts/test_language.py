"""The interface language: the user's choice, else the clinic's default, else English; the choice is
validated against settings.LANGUAGES; the Hindi catalogue is complete and its compiled .mo is the one used."""

from __future__ import annotations

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from accounts.models import User
from clinics.models import Clinic
from docos.i18n import language_for

LOCALE = Path(settings.BASE_DIR) / "locale"


def set_language(seeded, role: str, language: str, in_tenant) -> None:
    with in_tenant(seeded):
        User.objects.filter(pk=seeded.users[role].pk).update(language=language)


def set_clinic_default(seeded, language: str) -> None:
    Clinic.objects.filter(pk=seeded.clinic.pk).update(default_language=language)


def test_languages_on_offer_are_english_and_every_catalogue_in_locale():
    codes = [code for code, _name in settings.LANGUAGES]
    assert codes[0] == "en-in"
    assert "hi" in codes
    assert dict(settings.LANGUAGES)["hi"] == "हिंदी"  # its own name, from Django's LANG_INFO


def test_a_hindi_user_sees_the_hindi_shell_and_dashboard(clinic_a, client_for, in_tenant):
    set_language(clinic_a, "front_desk", "hi", in_tenant)
    response = client_for(clinic_a, "front_desk").get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="hi"' in html
    assert response.headers["Content-Language"] == "hi"
    assert "साइन आउट" in html  # Sign out, in the nav
    assert "सीधे मुख्य भाग पर जाएँ" in html  # the skip link
    assert "आज के अपॉइंटमेंट" in html  # the appointments panel's title (appointments/dashboard.py)
    assert "अभी इंतज़ार में" in html  # a tile
    assert "Sign out" not in html


def test_the_language_is_for_the_request_only(clinic_a, client_for, in_tenant):
    set_language(clinic_a, "front_desk", "hi", in_tenant)
    assert client_for(clinic_a, "front_desk").get("/").headers["Content-Language"] == "hi"
    assert translation.get_language() == "en-in"


def test_an_english_user_in_the_same_clinic_keeps_english(clinic_a, client_for, in_tenant):
    set_language(clinic_a, "front_desk", "hi", in_tenant)
    html = client_for(clinic_a, "doctor").get("/").content.decode()
    assert '<html lang="en-in"' in html
    assert "Sign out" in html
    assert "Your appointments today" in html


def test_the_clinic_default_applies_to_a_user_without_a_choice_and_to_sign_in(clinic_a, client_for, in_tenant):
    set_clinic_default(clinic_a, "hi")
    html = client_for(clinic_a, "doctor").get("/").content.decode()
    assert '<html lang="hi"' in html
    assert "आज आपके अपॉइंटमेंट" in html
    sign_in = client_for(clinic_a).get("/login").content.decode()
    assert "साइन इन करें" in sign_in
    assert "काम का ईमेल" in sign_in  # the form's label (accounts/forms_auth.py)
    # A user's own choice wins over the clinic's default.
    set_language(clinic_a, "doctor", "en-in", in_tenant)
    assert "Sign out" in client_for(clinic_a, "doctor").get("/").content.decode()


def test_a_sign_in_error_is_in_the_clinics_language(clinic_a, client_for):
    set_clinic_default(clinic_a, "hi")
    client = client_for(clinic_a)
    client.post("/login", {"email": clinic_a.users["doctor"].email})
    html = client.post("/login/verify", {"password": "not the password at all"}).content.decode()
    assert "यह ईमेल और पासवर्ड मेल नहीं खाते" in html


def test_the_api_stays_in_english_for_a_hindi_user(clinic_a, client_for, in_tenant):
    set_language(clinic_a, "front_desk", "hi", in_tenant)
    response = client_for(clinic_a, "front_desk").get("/api/v1/no-such-thing")
    assert response.headers.get("Content-Language") == "en-in"


def test_user_chooses_a_language_on_the_account_page(clinic_a, client_for, in_tenant):
    client = client_for(clinic_a, "nurse")
    assert 'value="hi"' in client.get("/account/").content.decode()
    response = client.post("/account/language", {"language": "hi"})
    assert response.status_code == 302
    with in_tenant(clinic_a):
        assert User.objects.get(pk=clinic_a.users["nurse"].pk).language == "hi"
    assert "आपका खाता" in client.get("/account/").content.decode()
    client.post("/account/language", {"language": ""})  # back to the clinic's default
    with in_tenant(clinic_a):
        assert User.objects.get(pk=clinic_a.users["nurse"].pk).language == ""


def test_a_language_not_on_offer_is_refused(clinic_a, client_for, in_tenant):
    response = client_for(clinic_a, "nurse").post("/account/language", {"language": "fr"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    with in_tenant(clinic_a):
        assert User.objects.get(pk=clinic_a.users["nurse"].pk).language == ""


def test_the_service_refuses_a_language_not_on_offer(clinic_a, in_tenant):
    from django.core.exceptions import ValidationError

    from accounts.login import language_set

    with in_tenant(clinic_a), pytest.raises(ValidationError) as exc:
        language_set(user=clinic_a.users["nurse"], language="ta")
    assert "Choose one of the languages on offer" in str(exc.value)


def test_a_stale_choice_falls_back_to_the_clinic_then_english():
    class Someone:
        is_authenticated = True
        language = "ta"  # e.g. a catalogue that was removed

    class AClinic:
        default_language = "hi"

    assert language_for(Someone(), AClinic()) == "hi"
    AClinic.default_language = "xx"
    assert language_for(Someone(), AClinic()) == "en-in"


def test_owner_sets_the_clinic_default_language_in_the_profile(clinic_a, client_for):
    data = {
        "name": clinic_a.clinic.name,
        "contact_email": clinic_a.clinic.contact_email,
        "billing_address": "",
        "billing_state": "",
        "gstin": "",
        "timezone": "Asia/Kolkata",
        "default_language": "hi",
    }
    response = client_for(clinic_a, "owner").post("/settings/profile/", data)
    assert response.status_code == 302
    assert Clinic.objects.get(pk=clinic_a.clinic.pk).default_language == "hi"
    bad = client_for(clinic_a, "owner").post("/settings/profile/", {**data, "default_language": "de"})
    assert bad.status_code == 200
    assert Clinic.objects.get(pk=clinic_a.clinic.pk).default_language == "hi"


def _catalogue(path: Path) -> dict[str, str]:
    with path.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    return {str(k): str(v) for k, v in catalog.items() if k}


@pytest.mark.parametrize("po", sorted(LOCALE.glob("*/LC_MESSAGES/django.po")), ids=lambda p: p.parent.parent.name)
def test_every_message_is_translated_and_the_committed_mo_is_compiled_from_the_po(po, tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("gettext (msgfmt) is not installed: scripts/system-deps.sh installs it")
    stats = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", str(tmp_path / "fresh.mo"), str(po)],
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C"},
    )
    assert "untranslated" not in stats.stderr and "fuzzy" not in stats.stderr, stats.stderr
    committed = po.with_suffix(".mo")
    assert committed.exists(), f"{committed} is missing: run `make messages`"
    assert _catalogue(committed) == _catalogue(tmp_path / "fresh.mo"), "the .mo is stale: run `make messages`"


def test_django_uses_the_compiled_hindi_catalogue():
    with translation.override("hi"):
        assert translation.gettext("Sign out") == "साइन आउट"
        assert translation.gettext("Waiting now") == "अभी इंतज़ार में"


def test_the_demo_nurse_uses_hindi():
    from clinics.demo import DEMO_LANGUAGES, DEMO_STAFF, demo_banner

    emails = {email: name for _role, email, name, *_ in DEMO_STAFF}
    assert emails[next(iter(DEMO_LANGUAGES))] == "Priya Nair"
    assert set(DEMO_LANGUAGES.values()) <= {code for code, _name in settings.LANGUAGES}
    assert "nurse@demo.docos.in" in demo_banner(Clinic(name="Sunrise", slug="demo", schema_name="demo"))
