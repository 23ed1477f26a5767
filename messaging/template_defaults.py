"""The WhatsApp templates DocOS ships, in English and Hindi: one per message DocOS sends, with the
variables in the order the sending feature passes them (appointments.reminders.reminder_parameters).
Plain data (no model imports), so the migration that writes them into every clinic can read it.
"""

from __future__ import annotations

from typing import Any

_APPOINTMENT_VARS = ["first_name", "clinician", "date", "time", "location", "clinic"]
_APPOINTMENT_EXAMPLES = ["Asha", "Dr. Vikram Rao", "Thu 10 Dec 2026", "10:30 AM", "Indiranagar", "Sunrise Clinic"]
_FOLLOW_UP_VARS = ["first_name", "date", "clinician", "location", "clinic"]
_FOLLOW_UP_EXAMPLES = ["Asha", "Thu 10 Dec 2026", "Dr. Vikram Rao", "Indiranagar", "Sunrise Clinic"]
_REPLY_BUTTONS = {"en": ["Confirm", "Cancel", "Reschedule"], "hi": ["पक्का करें", "रद्द करें", "समय बदलें"]}
_APPOINTMENT_TEXT = {
    "en": "Namaste {{1}}, this is a reminder of your appointment with {{2}} on {{3}} at {{4}}, {{5}} ({{6}}). "
    "Please confirm, cancel or ask for another time with the buttons below.",
    "hi": "नमस्ते {{1}}, {{3}} को {{4}} बजे {{2}} के साथ आपका अपॉइंटमेंट है, {{5}} ({{6}})। "
    "कृपया नीचे दिए बटन से पक्का करें, रद्द करें या दूसरा समय माँगें।",
}
_FOLLOW_UP_TEXT = {
    "en": "Namaste {{1}}, your follow-up visit is due on {{2}} with {{3}} at {{4}} ({{5}}). "
    "Reply to this message to book a time.",
    "hi": "नमस्ते {{1}}, {{2}} को {{3}} के साथ आपकी दोबारा जाँच है, {{4}} ({{5}})। समय तय करने के लिए इस संदेश का उत्तर दें।",
}
_PRESCRIPTION_TEXT = {
    "en": "Namaste {{1}}, your prescription from {{2}} is ready. We will send it to you here as a PDF.",
    "hi": "नमस्ते {{1}}, {{2}} से आपका पर्चा तैयार है। हम इसे यहीं PDF के रूप में भेजेंगे।",
}
_PAYMENT_TEXT = {
    # Meta refuses a body that starts or ends with a variable: the link is followed by a sentence.
    "en": "Namaste {{1}}, your bill of {{2}} at {{3}} can be paid securely here: {{4}} Thank you.",
    "hi": "नमस्ते {{1}}, {{3}} का आपका {{2}} का बिल यहाँ सुरक्षित रूप से चुकाएँ: {{4}} धन्यवाद।",
}
_REOPEN_TEXT = {
    "en": "Hello {{1}}, {{2}} has a message for you. Please reply to this message to continue the conversation.",
    "hi": "नमस्ते {{1}}, {{2}} आपसे बात करना चाहता है। बातचीत जारी रखने के लिए कृपया इस संदेश का उत्तर दें।",
}


def _defaults() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for language in ("en", "hi"):
        for name in ("appointment_reminder_24h", "appointment_reminder_2h"):
            rows.append(
                {"name": name, "language": language, "body": _APPOINTMENT_TEXT[language],
                 "buttons": _REPLY_BUTTONS[language], "variables": _APPOINTMENT_VARS, "examples": _APPOINTMENT_EXAMPLES}
            )  # fmt: skip
        rows += [
            {"name": "follow_up_reminder", "language": language, "body": _FOLLOW_UP_TEXT[language],
             "variables": _FOLLOW_UP_VARS, "examples": _FOLLOW_UP_EXAMPLES},
            {"name": "prescription_ready", "language": language, "body": _PRESCRIPTION_TEXT[language],
             "variables": ["first_name", "clinic"], "examples": ["Asha", "Sunrise Clinic"]},
            {"name": "payment_link", "language": language, "body": _PAYMENT_TEXT[language],
             "variables": ["first_name", "amount", "clinic", "link"],
             "examples": ["Asha", "₹1,250.00", "Sunrise Clinic", "https://rzp.io/i/AbC123"]},
            {"name": "conversation_reopen", "language": language, "body": _REOPEN_TEXT[language],
             "variables": ["first_name", "clinic"], "examples": ["Asha", "Sunrise Clinic"]},
        ]  # fmt: skip
    return rows


DEFAULT_TEMPLATES = _defaults()
