"""Demo consent forms and certificates for the demo clinic.

`seed(clinic)` (called at the end of patients/demo_clinical.py's seed) writes the clinic's consent
templates (procedure, clinical photography, data use and WhatsApp contact) and certificate
templates (sick leave, fitness), each in English and in Hindi, then one signed procedure consent
(with an on-screen signature and a witness) and one sick-leave certificate for a demo patient.
Everything goes through the services, so the records are audited and the PDFs are real, encrypted
and verifiable. It does nothing twice: the English templates are added only to a clinic without
any, the Hindi ones when missing by name, signed documents only when the clinic has none.
"""

from __future__ import annotations

import datetime as dt
import io
import math

from django.utils import timezone
from django_tenants.utils import tenant_context
from PIL import Image, ImageDraw

from accounts.models import User
from clinics.models import Clinic
from documents import consents
from documents.models import Certificate, CertificateTemplate, ConsentForm, ConsentTemplate
from patients.models import Patient

CONSENT_TEMPLATES: list[tuple[str, str, str]] = [
    (
        "Procedure under local anaesthesia",
        ConsentTemplate.Kind.PROCEDURE,
        "I consent to {{ procedure }} for {{ patient_name }} at {{ clinic_name }}, to be performed by "
        "{{ doctor_name }} or a doctor working with them.\n\n"
        "The nature of the procedure, its expected benefits, its risks (pain, bleeding, infection, scarring "
        "and, rarely, a reaction to the local anaesthetic) and the alternatives, including not having it done, "
        "were explained to me in a language I understand. I was able to ask questions and they were answered.\n\n"
        "I understand that I may withdraw this consent at any time before the procedure starts.\n\n"
        "Date: {{ date }}",
    ),
    (
        "Clinical photography",
        ConsentTemplate.Kind.PHOTOGRAPHY,
        "I agree that photographs of {{ patient_name }} may be taken at {{ clinic_name }} for the medical "
        "record, to follow the progress of treatment.\n\n"
        "The photographs are stored encrypted and shown only to the staff treating {{ patient_name }}. They "
        "will not be published, shared or used for teaching unless I agree to that separately in writing. "
        "I may withdraw this consent at any time; photographs already in the record are kept as part of it.\n\n"
        "Date: {{ date }}",
    ),
    (
        "Data use and WhatsApp contact",
        ConsentTemplate.Kind.DATA,
        "I, {{ patient_name }}, agree that {{ clinic_name }} keeps my personal and health information to "
        "treat me and to run the clinic, as described in its privacy notice (Digital Personal Data "
        "Protection Act, 2023).\n\n"
        "I agree to receive WhatsApp messages about my appointments, reminders, reports, prescriptions and "
        "bills on the number I gave. I can stop them at any time by replying STOP or by telling the front "
        "desk, and I can ask to see, correct or erase my information.\n\n"
        "Date: {{ date }}",
    ),
]
# The same forms in Hindi, for patients who read Hindi (the PDFs set them in Noto Sans Devanagari).
CONSENT_TEMPLATES_HI: list[tuple[str, str, str]] = [
    (
        "लोकल एनेस्थीसिया में प्रक्रिया की सहमति",
        ConsentTemplate.Kind.PROCEDURE,
        "मैं {{ patient_name }} के लिए {{ clinic_name }} में {{ procedure }} करवाने की सहमति देता/देती हूँ, "
        "जिसे {{ doctor_name }} या उनके साथ काम करने वाले कोई डॉक्टर करेंगे।\n\n"
        "प्रक्रिया क्या है, इसके अपेक्षित लाभ, इसके जोखिम (दर्द, खून बहना, संक्रमण, निशान और, कभी-कभार, लोकल "
        "एनेस्थीसिया की दवा से रिएक्शन) और दूसरे विकल्प, जिनमें इसे न करवाना भी शामिल है, मुझे ऐसी भाषा में समझाए "
        "गए जिसे मैं समझता/समझती हूँ। मुझे सवाल पूछने का मौका मिला और उनके जवाब दिए गए।\n\n"
        "मैं समझता/समझती हूँ कि प्रक्रिया शुरू होने से पहले मैं कभी भी यह सहमति वापस ले सकता/सकती हूँ।\n\n"
        "तारीख: {{ date }}",
    ),
    (
        "क्लिनिकल फ़ोटोग्राफ़ी की सहमति",
        ConsentTemplate.Kind.PHOTOGRAPHY,
        "मैं सहमति देता/देती हूँ कि इलाज की प्रगति देखने के लिए, मेडिकल रिकॉर्ड हेतु {{ clinic_name }} में "
        "{{ patient_name }} की तस्वीरें ली जा सकती हैं।\n\n"
        "तस्वीरें एन्क्रिप्ट करके रखी जाती हैं और केवल {{ patient_name }} का इलाज कर रहे स्टाफ़ को दिखाई जाती हैं। "
        "जब तक मैं अलग से लिखित में सहमति न दूँ, इन्हें प्रकाशित, साझा या पढ़ाने के लिए इस्तेमाल नहीं किया जाएगा। "
        "मैं यह सहमति कभी भी वापस ले सकता/सकती हूँ; जो तस्वीरें पहले से रिकॉर्ड में हैं, वे उसी के हिस्से के रूप "
        "में रखी जाएँगी।\n\n"
        "तारीख: {{ date }}",
    ),
    (
        "डेटा उपयोग और WhatsApp संपर्क की सहमति",
        ConsentTemplate.Kind.DATA,
        "मैं, {{ patient_name }}, सहमति देता/देती हूँ कि {{ clinic_name }} मेरा इलाज करने और क्लिनिक चलाने के "
        "लिए मेरी व्यक्तिगत और स्वास्थ्य संबंधी जानकारी रखे, जैसा कि उसकी गोपनीयता सूचना (डिजिटल व्यक्तिगत डेटा "
        "संरक्षण अधिनियम, 2023) में बताया गया है।\n\n"
        "मैं अपने दिए हुए नंबर पर अपने अपॉइंटमेंट, रिमाइंडर, रिपोर्ट, प्रिस्क्रिप्शन और बिल के बारे में WhatsApp "
        "संदेश पाने के लिए सहमत हूँ। मैं STOP लिखकर जवाब देकर या फ़्रंट डेस्क को बताकर इन्हें कभी भी बंद करवा "
        "सकता/सकती हूँ, और अपनी जानकारी देखने, सुधारने या मिटाने के लिए कह सकता/सकती हूँ।\n\n"
        "तारीख: {{ date }}",
    ),
]
CERTIFICATE_TEMPLATES: list[tuple[str, str, str]] = [
    (
        "Sick leave",
        CertificateTemplate.Kind.SICK_LEAVE,
        "This is to certify that {{ patient_name }} was examined by me on {{ date }} and is suffering from "
        "{{ diagnosis }}.\n\n"
        "{{ patient_name }} is advised rest for {{ days }} days, from {{ from_date }} to {{ to_date }} "
        "(both days inclusive).",
    ),
    (
        "Fitness to resume work",
        CertificateTemplate.Kind.FITNESS,
        "This is to certify that I examined {{ patient_name }} on {{ date }}. {{ patient_name }} has recovered "
        "and is fit to resume normal duties from {{ from_date }}.",
    ),
]
CERTIFICATE_TEMPLATES_HI: list[tuple[str, str, str]] = [
    (
        "बीमारी की छुट्टी का प्रमाणपत्र",
        CertificateTemplate.Kind.SICK_LEAVE,
        "प्रमाणित किया जाता है कि मैंने {{ date }} को {{ patient_name }} की जाँच की और वे {{ diagnosis }} से "
        "पीड़ित हैं।\n\n"
        "{{ patient_name }} को {{ from_date }} से {{ to_date }} तक (दोनों दिन सहित) {{ days }} दिन आराम की सलाह "
        "दी जाती है।",
    ),
    (
        "काम पर लौटने का फ़िटनेस प्रमाणपत्र",
        CertificateTemplate.Kind.FITNESS,
        "प्रमाणित किया जाता है कि मैंने {{ date }} को {{ patient_name }} की जाँच की। {{ patient_name }} स्वस्थ हो "
        "चुके हैं और {{ from_date }} से अपना सामान्य काम फिर से शुरू करने के लिए फ़िट हैं।",
    ),
]


def demo_signature(seed: int = 7) -> bytes:
    """A handwritten-looking signature on a transparent 640x200 canvas, as the signing pad posts it."""
    width, height = 640, 200
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = []
    for step in range(240):
        t = step / 239
        x = 40 + t * 520
        y = 110 - 45 * math.sin(t * math.pi * (5 + seed % 3)) * (1 - 0.6 * t) - 20 * math.sin(t * math.pi)
        points.append((x, y))
    draw.line(points, fill=(20, 20, 60, 255), width=4, joint="curve")
    draw.line([(60, 150), (560, 138)], fill=(20, 20, 60, 255), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _staff_with(capability: str, *, registered: bool = False, prefer: str = "") -> User | None:
    users = User.objects.filter(is_active=True, role__capabilities__contains=[capability])
    if registered:
        users = users.exclude(registration_number="")
    preferred = users.filter(role__slug=prefer).order_by("email").first() if prefer else None
    return preferred or users.order_by("email").first()


def _seed_templates() -> tuple[int, int]:
    author = _staff_with("consents.manage", prefer="owner")
    if author is None:
        return 0, 0
    made_consent = made_certificate = 0
    # A clinic seeded before the Hindi forms existed gets them too; nothing is added twice.
    first_time = not ConsentTemplate.objects.exists()
    have = set(ConsentTemplate.objects.values_list("name", flat=True))
    for name, kind, body in (CONSENT_TEMPLATES if first_time else []) + CONSENT_TEMPLATES_HI:
        if name not in have:
            consents.consent_template_create(actor=author, name=name, kind=kind, body=body)
            made_consent += 1
    doctor = _staff_with("certificates.sign", prefer="owner")
    if doctor is not None:
        first_time = not CertificateTemplate.objects.exists()
        have = set(CertificateTemplate.objects.values_list("name", flat=True))
        for name, kind, body in (CERTIFICATE_TEMPLATES if first_time else []) + CERTIFICATE_TEMPLATES_HI:
            if name not in have:
                consents.certificate_template_create(actor=doctor, name=name, kind=kind, body=body)
                made_certificate += 1
    return made_consent, made_certificate


def _demo_patient() -> Patient | None:
    """The first adult registered (the demo's consent is the patient's own)."""
    patients = Patient.objects.filter(is_active=True, merged_into__isnull=True).order_by("created_at", "mrn")
    return next((patient for patient in patients[:50] if not patient.is_minor), None)


def _seed_signed() -> int:
    if ConsentForm.objects.exists() or Certificate.objects.exists():
        return 0
    patient = _demo_patient()
    preparer = _staff_with("consents.manage", prefer="nurse")
    doctor = _staff_with("certificates.sign", registered=True, prefer="doctor")
    if patient is None or preparer is None:
        return 0
    made = 0
    procedures = ConsentTemplate.objects.filter(kind=ConsentTemplate.Kind.PROCEDURE, is_active=True)
    template = procedures.filter(name=CONSENT_TEMPLATES[0][0]).first() or procedures.first()
    if template is not None:
        consents.consent_sign(
            patient=patient,
            template=template,
            actor=preparer,
            signature=demo_signature(),
            procedure="Excision of a sebaceous cyst, left shoulder, under local anaesthesia",
            signer_relation=ConsentForm.SignerRelation.SELF,
            witness_name=preparer.full_name,
            doctor=doctor,
        )
        made += 1
    sick_leaves = CertificateTemplate.objects.filter(kind=CertificateTemplate.Kind.SICK_LEAVE, is_active=True)
    sick_leave = sick_leaves.filter(name=CERTIFICATE_TEMPLATES[0][0]).first() or sick_leaves.first()
    if doctor is not None and sick_leave is not None:
        today = timezone.localdate()
        consents.certificate_sign(
            patient=patient,
            actor=doctor,
            template=sick_leave,
            from_date=today,
            to_date=today + dt.timedelta(days=2),
            diagnosis="acute viral fever",
        )
        made += 1
    return made


def seed(clinic: Clinic) -> int:
    """Seed the demo templates and signed documents; returns how many signed documents were made."""
    with tenant_context(clinic):
        _seed_templates()
        return _seed_signed()
