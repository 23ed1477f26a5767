"""Build clinical/data/formulary.json, the reference formulary, from the compact tables below.

The JSON is the artefact the application reads (clinical.drug_reference); this script is how it is
kept: edit a table here, run `python scripts/build_formulary.py`, commit both files. It reads no
database and downloads nothing: every fact below is typed in, with the source it is to be checked
against, and stays `"verified": false` until someone has checked that entry against the named
source and moved it into VERIFIED (the UI marks unverified entries).

Tables:
- MOLECULES: one generic molecule (INN) per line: ATC code (WHO ATC/DDD Index), therapeutic class,
  allergy classes (ALLERGY_CLASSES keys, used by the prescription allergy check), dosage forms and
  strengths, whether it is in India's NLEM 2022, a standard paediatric dose by weight where one is
  standard, synonyms (British/Indian spellings).
- COMBINATIONS: generic fixed-dose combinations (molecules + strengths + form).
- BRANDS: "Name | maker | form | inn strength + inn strength" (the maker may be blank).
HSN and GST: medicines in measured doses are HSN 3004; GST on them is 5% from 22 Sep 2025.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "clinical" / "data" / "formulary.json"

SRC_NLEM = "National List of Essential Medicines 2022 (MoHFW, Government of India)"
SRC_ATC = "WHO ATC/DDD Index (WHO Collaborating Centre for Drug Statistics Methodology)"
SRC_GST = "GST rate notification: HSN 3004 medicaments at 5% from 22 Sep 2025"
SRC_PAED = "Standard paediatric dose as in the IAP Drug Formulary / BNF for Children"
SRC_BRAND = "Brand as marketed in India (CDSCO-approved product; label composition)"

ALLERGY_CLASSES = {
    "penicillins": "Penicillins",
    "cephalosporins": "Cephalosporins",
    "beta_lactams": "Beta-lactam antibiotics",
    "sulfonamides": "Sulfonamide antibiotics (sulfa drugs)",
    "macrolides": "Macrolides",
    "fluoroquinolones": "Fluoroquinolones",
    "tetracyclines": "Tetracyclines",
    "aminoglycosides": "Aminoglycosides",
    "nitroimidazoles": "Nitroimidazoles",
    "nsaids": "NSAIDs (including aspirin)",
    "salicylates": "Salicylates",
    "opioids": "Opioids",
    "azole_antifungals": "Azole antifungals",
    "ace_inhibitors": "ACE inhibitors",
    "sulfonylureas": "Sulfonylureas",
    "aromatic_anticonvulsants": "Aromatic anticonvulsants (carbamazepine, phenytoin, phenobarbital)",
    "benzodiazepines": "Benzodiazepines",
    "amide_local_anaesthetics": "Amide local anaesthetics",
    "iodine": "Iodine and iodinated products",
    "corticosteroids": "Corticosteroids",
    "statins": "Statins",
}

# Entries checked against their named source, by key ("m:<inn>", "b:<brand name>"). Empty: nothing in
# this file has been checked against a published source yet, so every entry shows as unverified.
VERIFIED: set[str] = set()

# Paediatric doses by weight: mg/kg per dose (or per day, divided), how many doses a day, caps.
PAED: dict[str, dict[str, Any]] = {
    "paracetamol": {
        "mg_per_kg": 15,
        "per": "dose",
        "doses_per_day": 4,
        "max_mg_per_dose": 1000,
        "max_mg_per_day": 4000,
    },
    "ibuprofen": {"mg_per_kg": 10, "per": "dose", "doses_per_day": 3, "max_mg_per_dose": 400, "max_mg_per_day": 1200},
    "amoxicillin": {"mg_per_kg": 40, "per": "day", "doses_per_day": 3, "max_mg_per_dose": 500},
    "azithromycin": {"mg_per_kg": 10, "per": "day", "doses_per_day": 1, "max_mg_per_dose": 500},
    "cefixime": {"mg_per_kg": 8, "per": "day", "doses_per_day": 2, "max_mg_per_dose": 200},
    "cefpodoxime": {"mg_per_kg": 10, "per": "day", "doses_per_day": 2, "max_mg_per_dose": 200},
    "cefalexin": {"mg_per_kg": 50, "per": "day", "doses_per_day": 4, "max_mg_per_dose": 500},
    "metronidazole": {"mg_per_kg": 7.5, "per": "dose", "doses_per_day": 3, "max_mg_per_dose": 400},
    "ondansetron": {"mg_per_kg": 0.15, "per": "dose", "doses_per_day": 3, "max_mg_per_dose": 4},
    "domperidone": {"mg_per_kg": 0.25, "per": "dose", "doses_per_day": 3, "max_mg_per_dose": 10},
    "salbutamol": {"mg_per_kg": 0.1, "per": "dose", "doses_per_day": 3, "max_mg_per_dose": 2},
    "prednisolone": {"mg_per_kg": 1, "per": "day", "doses_per_day": 1, "max_mg_per_dose": 40},
    "trimethoprim": {"mg_per_kg": 4, "per": "dose", "doses_per_day": 2, "max_mg_per_dose": 160},
    "mefenamic acid": {"mg_per_kg": 7, "per": "dose", "doses_per_day": 3, "max_mg_per_dose": 500},
}

# (inn, atc, class, allergy classes, "Form: strength, strength; Form: ...", nlem, synonyms)
MOLECULES: list[tuple[str, str, str, str, str, bool, str]] = [
    # analgesics, antipyretics, NSAIDs, muscle relaxants, gout
    (
        "paracetamol",
        "N02BE01",
        "Analgesic and antipyretic (anilide)",
        "",
        "Tablet: 500 mg, 650 mg; Oral suspension: 120 mg/5 mL, 250 mg/5 mL; Drops: 100 mg/mL; Injection: 150 mg/mL",
        True,
        "acetaminophen",
    ),
    (
        "ibuprofen",
        "M01AE01",
        "NSAID (propionic acid derivative)",
        "nsaids",
        "Tablet: 200 mg, 400 mg; Oral suspension: 100 mg/5 mL",
        True,
        "",
    ),
    (
        "diclofenac",
        "M01AB05",
        "NSAID (acetic acid derivative)",
        "nsaids",
        "Tablet: 50 mg; Tablet (SR): 100 mg; Injection: 25 mg/mL; Gel: 1%",
        True,
        "",
    ),
    (
        "aceclofenac",
        "M01AB16",
        "NSAID (acetic acid derivative)",
        "nsaids",
        "Tablet: 100 mg; Tablet (SR): 200 mg",
        False,
        "",
    ),
    (
        "mefenamic acid",
        "M01AG01",
        "NSAID (fenamate)",
        "nsaids",
        "Tablet: 250 mg, 500 mg; Oral suspension: 100 mg/5 mL",
        False,
        "",
    ),
    ("naproxen", "M01AE02", "NSAID (propionic acid derivative)", "nsaids", "Tablet: 250 mg, 500 mg", False, ""),
    ("etoricoxib", "M01AH05", "NSAID (coxib)", "nsaids", "Tablet: 60 mg, 90 mg, 120 mg", False, ""),
    ("nimesulide", "M01AX17", "NSAID", "nsaids", "Tablet: 100 mg", False, ""),
    (
        "acetylsalicylic acid",
        "B01AC06",
        "Antiplatelet (salicylate); analgesic at higher doses (N02BA01)",
        "nsaids salicylates",
        "Tablet (gastro-resistant): 75 mg, 150 mg; Tablet: 325 mg",
        True,
        "aspirin",
    ),
    ("tramadol", "N02AX02", "Opioid analgesic", "opioids", "Capsule: 50 mg; Tablet: 50 mg, 37.5 mg", True, ""),
    ("thiocolchicoside", "M03BX05", "Muscle relaxant", "", "Capsule: 4 mg, 8 mg", False, ""),
    ("tizanidine", "M03BX02", "Muscle relaxant (centrally acting)", "", "Tablet: 2 mg, 4 mg", False, ""),
    ("allopurinol", "M04AA01", "Antigout (xanthine oxidase inhibitor)", "", "Tablet: 100 mg, 300 mg", True, ""),
    ("febuxostat", "M04AA03", "Antigout (xanthine oxidase inhibitor)", "", "Tablet: 40 mg, 80 mg", False, ""),
    ("colchicine", "M04AC01", "Antigout", "", "Tablet: 0.5 mg", True, ""),
    ("methotrexate", "L04AX03", "DMARD (immunosuppressant)", "", "Tablet: 2.5 mg, 7.5 mg", True, ""),
    ("hydroxychloroquine", "P01BA02", "DMARD / antimalarial (aminoquinoline)", "", "Tablet: 200 mg, 400 mg", True, ""),
    ("sumatriptan", "N02CC01", "Antimigraine (triptan)", "", "Tablet: 25 mg, 50 mg", True, ""),
    # antibacterials
    (
        "amoxicillin",
        "J01CA04",
        "Antibacterial (penicillin, extended spectrum)",
        "penicillins beta_lactams",
        "Capsule: 250 mg, 500 mg; Dispersible tablet: 125 mg, 250 mg; Oral suspension: 125 mg/5 mL, 250 mg/5 mL",
        True,
        "amoxycillin",
    ),
    (
        "clavulanic acid",
        "J01CR02",
        "Beta-lactamase inhibitor (ATC of amoxicillin with beta-lactamase inhibitor)",
        "beta_lactams",
        "",
        True,
        "clavulanate potassium",
    ),
    (
        "ampicillin",
        "J01CA01",
        "Antibacterial (penicillin, extended spectrum)",
        "penicillins beta_lactams",
        "Capsule: 250 mg, 500 mg; Injection: 500 mg",
        True,
        "",
    ),
    (
        "cloxacillin",
        "J01CF02",
        "Antibacterial (penicillinase-resistant penicillin)",
        "penicillins beta_lactams",
        "Capsule: 250 mg, 500 mg",
        True,
        "",
    ),
    (
        "benzathine benzylpenicillin",
        "J01CE08",
        "Antibacterial (penicillin, long-acting)",
        "penicillins beta_lactams",
        "Injection: 600000 IU, 1200000 IU",
        True,
        "benzathine penicillin",
    ),
    (
        "phenoxymethylpenicillin",
        "J01CE02",
        "Antibacterial (penicillin)",
        "penicillins beta_lactams",
        "Tablet: 250 mg",
        True,
        "penicillin v",
    ),
    (
        "cefalexin",
        "J01DB01",
        "Antibacterial (1st-generation cephalosporin)",
        "cephalosporins beta_lactams",
        "Capsule: 250 mg, 500 mg; Oral suspension: 125 mg/5 mL",
        True,
        "cephalexin",
    ),
    (
        "cefadroxil",
        "J01DB05",
        "Antibacterial (1st-generation cephalosporin)",
        "cephalosporins beta_lactams",
        "Tablet: 500 mg; Oral suspension: 125 mg/5 mL",
        True,
        "",
    ),
    (
        "cefuroxime",
        "J01DC02",
        "Antibacterial (2nd-generation cephalosporin)",
        "cephalosporins beta_lactams",
        "Tablet: 250 mg, 500 mg",
        True,
        "cefuroxime axetil",
    ),
    (
        "cefixime",
        "J01DD08",
        "Antibacterial (3rd-generation cephalosporin)",
        "cephalosporins beta_lactams",
        "Tablet: 100 mg, 200 mg; Dispersible tablet: 50 mg, 100 mg; Oral suspension: 50 mg/5 mL, 100 mg/5 mL",
        True,
        "",
    ),
    (
        "cefpodoxime",
        "J01DD13",
        "Antibacterial (3rd-generation cephalosporin)",
        "cephalosporins beta_lactams",
        "Tablet: 100 mg, 200 mg; Oral suspension: 50 mg/5 mL",
        False,
        "cefpodoxime proxetil",
    ),
    (
        "ceftriaxone",
        "J01DD04",
        "Antibacterial (3rd-generation cephalosporin)",
        "cephalosporins beta_lactams",
        "Injection: 250 mg, 500 mg, 1 g",
        True,
        "",
    ),
    (
        "azithromycin",
        "J01FA10",
        "Antibacterial (macrolide)",
        "macrolides",
        "Tablet: 250 mg, 500 mg; Oral suspension: 100 mg/5 mL, 200 mg/5 mL",
        True,
        "",
    ),
    ("clarithromycin", "J01FA09", "Antibacterial (macrolide)", "macrolides", "Tablet: 250 mg, 500 mg", True, ""),
    ("erythromycin", "J01FA01", "Antibacterial (macrolide)", "macrolides", "Tablet: 250 mg, 500 mg", False, ""),
    ("roxithromycin", "J01FA06", "Antibacterial (macrolide)", "macrolides", "Tablet: 150 mg", False, ""),
    (
        "ciprofloxacin",
        "J01MA02",
        "Antibacterial (fluoroquinolone)",
        "fluoroquinolones",
        "Tablet: 250 mg, 500 mg; Eye drops: 0.3%",
        True,
        "",
    ),
    (
        "ofloxacin",
        "J01MA01",
        "Antibacterial (fluoroquinolone)",
        "fluoroquinolones",
        "Tablet: 200 mg, 400 mg",
        False,
        "",
    ),
    (
        "levofloxacin",
        "J01MA12",
        "Antibacterial (fluoroquinolone)",
        "fluoroquinolones",
        "Tablet: 250 mg, 500 mg, 750 mg",
        True,
        "",
    ),
    ("norfloxacin", "J01MA06", "Antibacterial (fluoroquinolone)", "fluoroquinolones", "Tablet: 400 mg", False, ""),
    (
        "moxifloxacin",
        "S01AE07",
        "Antibacterial (fluoroquinolone), eye",
        "fluoroquinolones",
        "Eye drops: 0.5%; Tablet: 400 mg",
        True,
        "",
    ),
    (
        "doxycycline",
        "J01AA02",
        "Antibacterial (tetracycline)",
        "tetracyclines",
        "Capsule: 100 mg; Tablet: 100 mg",
        True,
        "",
    ),
    ("sulfamethoxazole", "J01EC01", "Antibacterial (sulfonamide)", "sulfonamides", "", True, "sulphamethoxazole"),
    ("trimethoprim", "J01EA01", "Antibacterial (trimethoprim)", "", "", True, ""),
    ("nitrofurantoin", "J01XE01", "Urinary antibacterial (nitrofuran)", "", "Capsule: 50 mg, 100 mg", True, ""),
    ("fosfomycin", "J01XX01", "Urinary antibacterial", "", "Granules: 3 g", False, ""),
    ("linezolid", "J01XX08", "Antibacterial (oxazolidinone)", "", "Tablet: 600 mg", True, ""),
    (
        "metronidazole",
        "P01AB01",
        "Antiprotozoal and antibacterial (nitroimidazole)",
        "nitroimidazoles",
        "Tablet: 200 mg, 400 mg; Oral suspension: 200 mg/5 mL; Gel: 1%",
        True,
        "",
    ),
    ("tinidazole", "P01AB02", "Antiprotozoal (nitroimidazole)", "nitroimidazoles", "Tablet: 300 mg, 500 mg", False, ""),
    ("ornidazole", "P01AB03", "Antiprotozoal (nitroimidazole)", "nitroimidazoles", "Tablet: 500 mg", False, ""),
    (
        "gentamicin",
        "S01AA11",
        "Antibacterial (aminoglycoside)",
        "aminoglycosides",
        "Eye drops: 0.3%; Injection: 40 mg/mL",
        True,
        "",
    ),
    ("tobramycin", "S01AA12", "Antibacterial (aminoglycoside), eye", "aminoglycosides", "Eye drops: 0.3%", False, ""),
    ("neomycin", "D06AX04", "Topical antibacterial (aminoglycoside)", "aminoglycosides", "", False, ""),
    ("chloramphenicol", "S01AA01", "Antibacterial, eye", "", "Eye drops: 0.5%; Eye ointment: 1%", True, ""),
    ("mupirocin", "D06AX09", "Topical antibacterial", "", "Ointment: 2%", True, ""),
    ("fusidic acid", "D06AX01", "Topical antibacterial", "", "Cream: 2%", False, ""),
    ("silver sulfadiazine", "D06BA01", "Topical antibacterial (sulfonamide)", "sulfonamides", "Cream: 1%", True, ""),
    ("clindamycin", "D10AF01", "Anti-acne antibacterial (lincosamide), topical", "", "Gel: 1%", False, ""),
    # antituberculars, antimalarials, anthelmintics, antifungals, antivirals
    ("isoniazid", "J04AC01", "Antituberculosis", "", "Tablet: 100 mg, 300 mg", True, ""),
    ("rifampicin", "J04AB02", "Antituberculosis (rifamycin)", "", "Capsule: 150 mg, 450 mg, 600 mg", True, "rifampin"),
    ("pyrazinamide", "J04AK01", "Antituberculosis", "", "Tablet: 500 mg, 750 mg", True, ""),
    ("ethambutol", "J04AK02", "Antituberculosis", "", "Tablet: 400 mg, 800 mg", True, ""),
    ("chloroquine", "P01BA01", "Antimalarial (aminoquinoline)", "", "Tablet: 250 mg", True, ""),
    ("primaquine", "P01BA03", "Antimalarial (aminoquinoline)", "", "Tablet: 2.5 mg, 7.5 mg", True, ""),
    ("artesunate", "P01BE03", "Antimalarial (artemisinin)", "", "Tablet: 50 mg; Injection: 60 mg", True, ""),
    ("artemether", "P01BE02", "Antimalarial (artemisinin)", "", "", True, ""),
    ("lumefantrine", "P01BF01", "Antimalarial (ATC of artemether and lumefantrine)", "", "", True, ""),
    (
        "albendazole",
        "P02CA03",
        "Anthelmintic (benzimidazole)",
        "",
        "Tablet: 400 mg; Oral suspension: 200 mg/5 mL",
        True,
        "",
    ),
    ("mebendazole", "P02CA01", "Anthelmintic (benzimidazole)", "", "Tablet: 100 mg", True, ""),
    ("ivermectin", "P02CF01", "Anthelmintic and scabicide", "", "Tablet: 6 mg, 12 mg", True, ""),
    ("permethrin", "P03AC04", "Scabicide and pediculicide", "", "Cream: 5%; Lotion: 1%", True, ""),
    ("fluconazole", "J02AC01", "Antifungal (triazole)", "azole_antifungals", "Tablet: 50 mg, 150 mg, 200 mg", True, ""),
    ("itraconazole", "J02AC02", "Antifungal (triazole)", "azole_antifungals", "Capsule: 100 mg, 200 mg", False, ""),
    ("terbinafine", "D01BA02", "Antifungal (allylamine)", "", "Tablet: 250 mg; Cream: 1%", True, ""),
    ("griseofulvin", "D01BA01", "Antifungal", "", "Tablet: 125 mg, 250 mg", False, ""),
    (
        "clotrimazole",
        "D01AC01",
        "Antifungal (imidazole), topical",
        "azole_antifungals",
        "Cream: 1%; Mouth paint: 1%; Vaginal tablet: 100 mg, 500 mg; Dusting powder: 1%",
        True,
        "",
    ),
    (
        "ketoconazole",
        "D01AC08",
        "Antifungal (imidazole), topical",
        "azole_antifungals",
        "Cream: 2%; Shampoo: 2%",
        False,
        "",
    ),
    ("luliconazole", "D01AC18", "Antifungal (imidazole), topical", "azole_antifungals", "Cream: 1%", False, ""),
    ("sertaconazole", "D01AC14", "Antifungal (imidazole), topical", "azole_antifungals", "Cream: 2%", False, ""),
    ("nystatin", "A07AA02", "Antifungal (polyene)", "", "Oral suspension: 100000 IU/mL; Tablet: 500000 IU", True, ""),
    (
        "aciclovir",
        "J05AB01",
        "Antiviral (nucleoside)",
        "",
        "Tablet: 200 mg, 400 mg, 800 mg; Cream: 5%",
        True,
        "acyclovir",
    ),
    ("valaciclovir", "J05AB11", "Antiviral (nucleoside)", "", "Tablet: 500 mg, 1000 mg", True, "valacyclovir"),
    ("oseltamivir", "J05AH02", "Antiviral (neuraminidase inhibitor)", "", "Capsule: 30 mg, 45 mg, 75 mg", True, ""),
    # gastrointestinal
    ("omeprazole", "A02BC01", "Proton pump inhibitor", "", "Capsule: 20 mg", True, ""),
    ("pantoprazole", "A02BC02", "Proton pump inhibitor", "", "Tablet: 20 mg, 40 mg; Injection: 40 mg", True, ""),
    ("rabeprazole", "A02BC04", "Proton pump inhibitor", "", "Tablet: 10 mg, 20 mg", False, ""),
    ("esomeprazole", "A02BC05", "Proton pump inhibitor", "", "Tablet: 20 mg, 40 mg", False, ""),
    ("famotidine", "A02BA03", "H2-receptor antagonist", "", "Tablet: 20 mg, 40 mg", True, ""),
    ("ranitidine", "A02BA02", "H2-receptor antagonist", "", "Tablet: 150 mg, 300 mg", False, ""),
    ("sucralfate", "A02BX02", "Mucosal protectant", "", "Oral suspension: 1 g/10 mL; Tablet: 1 g", False, ""),
    ("magnesium hydroxide", "A02AA04", "Antacid; osmotic laxative", "", "", False, "milk of magnesia"),
    ("aluminium hydroxide", "A02AB01", "Antacid", "", "", True, "aluminum hydroxide"),
    ("simeticone", "A03AX13", "Antiflatulent", "", "", False, "simethicone"),
    ("domperidone", "A03FA03", "Antiemetic and prokinetic", "", "Tablet: 10 mg; Oral suspension: 1 mg/mL", False, ""),
    (
        "ondansetron",
        "A04AA01",
        "Antiemetic (5-HT3 antagonist)",
        "",
        "Tablet: 4 mg, 8 mg; Orally disintegrating tablet: 4 mg; Oral solution: 2 mg/5 mL; Injection: 2 mg/mL",
        True,
        "",
    ),
    ("metoclopramide", "A03FA01", "Antiemetic and prokinetic", "", "Tablet: 10 mg; Injection: 5 mg/mL", True, ""),
    (
        "dicycloverine",
        "A03AA07",
        "Antispasmodic (anticholinergic)",
        "",
        "Tablet: 10 mg, 20 mg; Drops: 10 mg/mL",
        True,
        "dicyclomine",
    ),
    (
        "hyoscine butylbromide",
        "A03BB01",
        "Antispasmodic (anticholinergic)",
        "",
        "Tablet: 10 mg; Injection: 20 mg/mL",
        True,
        "scopolamine butylbromide",
    ),
    ("drotaverine", "A03AD02", "Antispasmodic (papaverine derivative)", "", "Tablet: 40 mg, 80 mg", False, ""),
    (
        "racecadotril",
        "A07XA04",
        "Antidiarrhoeal (enkephalinase inhibitor)",
        "",
        "Capsule: 100 mg; Sachet: 10 mg, 30 mg",
        False,
        "",
    ),
    ("loperamide", "A07DA03", "Antidiarrhoeal (antipropulsive)", "", "Tablet: 2 mg", False, ""),
    (
        "oral rehydration salts",
        "A07CA",
        "Oral rehydration",
        "",
        "Powder for oral solution: 20.5 g/L (WHO low-osmolarity)",
        True,
        "ors",
    ),
    (
        "zinc sulfate",
        "A12CB01",
        "Zinc supplement (childhood diarrhoea)",
        "",
        "Dispersible tablet: 20 mg; Oral solution: 20 mg/5 mL",
        True,
        "zinc sulphate",
    ),
    ("lactulose", "A06AD11", "Osmotic laxative", "", "Oral solution: 10 g/15 mL", True, ""),
    ("bisacodyl", "A06AB02", "Stimulant laxative", "", "Tablet: 5 mg; Suppository: 10 mg", True, ""),
    ("ispaghula", "A06AC01", "Bulk-forming laxative", "", "Husk: 3.5 g/5 g", False, "psyllium husk, isabgol"),
    ("liquid paraffin", "A06AA01", "Lubricant laxative", "", "", False, ""),
    ("sodium picosulfate", "A06AB08", "Stimulant laxative", "", "", False, ""),
    ("ursodeoxycholic acid", "A05AA02", "Bile acid", "", "Tablet: 150 mg, 300 mg", True, "ursodiol"),
    (
        "saccharomyces boulardii",
        "A07FA02",
        "Antidiarrhoeal micro-organism (probiotic)",
        "",
        "Sachet: 250 mg; Capsule: 250 mg",
        False,
        "",
    ),
    ("lactic acid bacillus", "A07FA01", "Antidiarrhoeal micro-organism (probiotic)", "", "", False, "lactobacillus"),
    (
        "bacillus clausii",
        "A07FA",
        "Antidiarrhoeal micro-organism (probiotic)",
        "",
        "Oral suspension: 2 billion spores/5 mL",
        False,
        "",
    ),
    ("doxylamine", "R06AA09", "Antihistamine (antiemetic in pregnancy with pyridoxine)", "", "", False, ""),
    ("pyridoxine", "A11HA02", "Vitamin B6", "", "Tablet: 10 mg, 40 mg", True, "vitamin b6"),
    # allergy, respiratory
    ("cetirizine", "R06AE07", "Antihistamine (non-sedating)", "", "Tablet: 10 mg; Syrup: 5 mg/5 mL", True, ""),
    ("levocetirizine", "R06AE09", "Antihistamine (non-sedating)", "", "Tablet: 5 mg; Syrup: 2.5 mg/5 mL", False, ""),
    ("fexofenadine", "R06AX26", "Antihistamine (non-sedating)", "", "Tablet: 120 mg, 180 mg", False, ""),
    ("loratadine", "R06AX13", "Antihistamine (non-sedating)", "", "Tablet: 10 mg", False, ""),
    ("bilastine", "R06AX29", "Antihistamine (non-sedating)", "", "Tablet: 20 mg", False, ""),
    ("chlorphenamine", "R06AB04", "Antihistamine (sedating)", "", "Tablet: 4 mg", True, "chlorpheniramine"),
    ("pheniramine", "R06AB05", "Antihistamine (sedating)", "", "Tablet: 25 mg; Injection: 22.75 mg/mL", True, ""),
    ("hydroxyzine", "N05BB01", "Antihistamine and anxiolytic", "", "Tablet: 10 mg, 25 mg", True, ""),
    (
        "montelukast",
        "R03DC03",
        "Leukotriene receptor antagonist",
        "",
        "Tablet: 10 mg; Chewable tablet: 4 mg, 5 mg",
        True,
        "",
    ),
    ("phenylephrine", "R01BA03", "Nasal decongestant (systemic)", "", "", False, ""),
    ("caffeine", "N06BC01", "Stimulant (xanthine)", "", "", False, ""),
    ("dextromethorphan", "R05DA09", "Cough suppressant", "", "Syrup: 10 mg/5 mL", False, ""),
    ("ambroxol", "R05CB06", "Mucolytic", "", "Tablet: 30 mg; Syrup: 15 mg/5 mL, 30 mg/5 mL", False, ""),
    ("guaifenesin", "R05CA03", "Expectorant", "", "", False, "guaiphenesin"),
    ("acetylcysteine", "R05CB01", "Mucolytic", "", "Effervescent tablet: 600 mg", True, "n-acetylcysteine"),
    (
        "salbutamol",
        "R03AC02",
        "Bronchodilator (short-acting beta-2 agonist)",
        "",
        "Inhaler: 100 mcg/dose; Respirator solution: 2.5 mg/2.5 mL; Tablet: 2 mg, 4 mg; Syrup: 2 mg/5 mL",
        True,
        "albuterol",
    ),
    (
        "levosalbutamol",
        "R03AC02",
        "Bronchodilator (short-acting beta-2 agonist; ATC as salbutamol)",
        "",
        "Inhaler: 50 mcg/dose; Respirator solution: 0.63 mg/2.5 mL, 1.25 mg/2.5 mL",
        False,
        "levalbuterol",
    ),
    (
        "budesonide",
        "R03BA02",
        "Inhaled corticosteroid",
        "corticosteroids",
        "Inhaler: 100 mcg/dose, 200 mcg/dose; Respirator suspension: 0.5 mg/2 mL",
        True,
        "",
    ),
    ("formoterol", "R03AC13", "Bronchodilator (long-acting beta-2 agonist)", "", "", True, "eformoterol"),
    ("salmeterol", "R03AC12", "Bronchodilator (long-acting beta-2 agonist)", "", "", False, ""),
    (
        "fluticasone",
        "R03BA05",
        "Corticosteroid (inhaled; nasal spray R01AD08)",
        "corticosteroids",
        "Nasal spray: 50 mcg/dose",
        False,
        "fluticasone propionate",
    ),
    (
        "mometasone",
        "R01AD09",
        "Corticosteroid (nasal spray; topical D07AC13)",
        "corticosteroids",
        "Nasal spray: 50 mcg/dose; Cream: 0.1%",
        False,
        "mometasone furoate",
    ),
    (
        "ipratropium",
        "R03BB01",
        "Bronchodilator (short-acting antimuscarinic)",
        "",
        "Inhaler: 20 mcg/dose; Respirator solution: 500 mcg/2 mL",
        True,
        "ipratropium bromide",
    ),
    ("tiotropium", "R03BB04", "Bronchodilator (long-acting antimuscarinic)", "", "Rotacap: 18 mcg", True, ""),
    ("doxofylline", "R03DA11", "Bronchodilator (xanthine)", "", "Tablet: 400 mg", False, ""),
    ("xylometazoline", "R01AA07", "Nasal decongestant (topical)", "", "Nasal drops: 0.05%, 0.1%", True, ""),
    (
        "oxymetazoline",
        "R01AA05",
        "Nasal decongestant (topical)",
        "",
        "Nasal spray: 0.05%; Nasal drops: 0.025%",
        False,
        "",
    ),
    # corticosteroids
    (
        "prednisolone",
        "H02AB06",
        "Corticosteroid (systemic)",
        "corticosteroids",
        "Tablet: 5 mg, 10 mg, 20 mg; Oral solution: 5 mg/5 mL, 15 mg/5 mL",
        True,
        "",
    ),
    (
        "methylprednisolone",
        "H02AB04",
        "Corticosteroid (systemic)",
        "corticosteroids",
        "Tablet: 4 mg, 8 mg, 16 mg",
        True,
        "",
    ),
    (
        "dexamethasone",
        "H02AB02",
        "Corticosteroid (systemic)",
        "corticosteroids",
        "Tablet: 0.5 mg, 4 mg; Injection: 4 mg/mL",
        True,
        "",
    ),
    ("deflazacort", "H02AB13", "Corticosteroid (systemic)", "corticosteroids", "Tablet: 6 mg, 12 mg, 30 mg", False, ""),
    ("hydrocortisone", "H02AB09", "Corticosteroid", "corticosteroids", "Injection: 100 mg; Cream: 1%", True, ""),
    (
        "betamethasone",
        "D07AC01",
        "Topical corticosteroid (potent)",
        "corticosteroids",
        "Cream: 0.1%; Ointment: 0.1%",
        True,
        "betamethasone valerate",
    ),
    (
        "clobetasol",
        "D07AD01",
        "Topical corticosteroid (very potent)",
        "corticosteroids",
        "Cream: 0.05%; Ointment: 0.05%",
        True,
        "clobetasol propionate",
    ),
    ("beclometasone", "D07AC15", "Topical corticosteroid", "corticosteroids", "Cream: 0.025%", False, "beclomethasone"),
    # cardiovascular
    ("amlodipine", "C08CA01", "Calcium channel blocker (dihydropyridine)", "", "Tablet: 2.5 mg, 5 mg, 10 mg", True, ""),
    ("cilnidipine", "C08CA14", "Calcium channel blocker (dihydropyridine)", "", "Tablet: 5 mg, 10 mg", False, ""),
    ("nifedipine", "C08CA05", "Calcium channel blocker (dihydropyridine)", "", "Tablet (SR): 10 mg, 20 mg", True, ""),
    ("telmisartan", "C09CA07", "Angiotensin II receptor blocker", "", "Tablet: 20 mg, 40 mg, 80 mg", True, ""),
    ("losartan", "C09CA01", "Angiotensin II receptor blocker", "", "Tablet: 25 mg, 50 mg", True, ""),
    (
        "olmesartan",
        "C09CA08",
        "Angiotensin II receptor blocker",
        "",
        "Tablet: 20 mg, 40 mg",
        False,
        "olmesartan medoxomil",
    ),
    ("ramipril", "C09AA05", "ACE inhibitor", "ace_inhibitors", "Capsule: 2.5 mg, 5 mg, 10 mg", True, ""),
    ("enalapril", "C09AA02", "ACE inhibitor", "ace_inhibitors", "Tablet: 2.5 mg, 5 mg, 10 mg", True, ""),
    ("atenolol", "C07AB03", "Beta blocker (cardioselective)", "", "Tablet: 25 mg, 50 mg", True, ""),
    (
        "metoprolol",
        "C07AB02",
        "Beta blocker (cardioselective)",
        "",
        "Tablet (ER): 25 mg, 50 mg; Tablet: 25 mg, 50 mg",
        True,
        "metoprolol succinate, metoprolol tartrate",
    ),
    ("nebivolol", "C07AB12", "Beta blocker (cardioselective)", "", "Tablet: 2.5 mg, 5 mg", False, ""),
    ("bisoprolol", "C07AB07", "Beta blocker (cardioselective)", "", "Tablet: 2.5 mg, 5 mg", True, ""),
    ("carvedilol", "C07AG02", "Alpha and beta blocker", "", "Tablet: 3.125 mg, 6.25 mg, 12.5 mg", True, ""),
    ("propranolol", "C07AA05", "Beta blocker (non-selective)", "", "Tablet: 10 mg, 40 mg", True, ""),
    ("hydrochlorothiazide", "C03AA03", "Thiazide diuretic", "", "Tablet: 12.5 mg, 25 mg", True, ""),
    ("chlortalidone", "C03BA04", "Thiazide-like diuretic", "", "Tablet: 6.25 mg, 12.5 mg", True, "chlorthalidone"),
    ("torasemide", "C03CA04", "Loop diuretic", "", "Tablet: 5 mg, 10 mg, 20 mg", True, "torsemide"),
    ("furosemide", "C03CA01", "Loop diuretic", "", "Tablet: 40 mg; Injection: 10 mg/mL", True, "frusemide"),
    ("spironolactone", "C03DA01", "Potassium-sparing diuretic", "", "Tablet: 25 mg, 50 mg", True, ""),
    ("atorvastatin", "C10AA05", "Statin", "statins", "Tablet: 10 mg, 20 mg, 40 mg, 80 mg", True, ""),
    ("rosuvastatin", "C10AA07", "Statin", "statins", "Tablet: 5 mg, 10 mg, 20 mg", True, ""),
    ("fenofibrate", "C10AB05", "Fibrate", "", "Tablet: 145 mg, 160 mg", False, ""),
    (
        "isosorbide dinitrate",
        "C01DA08",
        "Nitrate (antianginal)",
        "",
        "Sublingual tablet: 5 mg; Tablet: 10 mg",
        True,
        "",
    ),
    (
        "isosorbide mononitrate",
        "C01DA14",
        "Nitrate (antianginal)",
        "",
        "Tablet: 10 mg, 20 mg; Tablet (SR): 30 mg, 60 mg",
        True,
        "",
    ),
    (
        "glyceryl trinitrate",
        "C01DA02",
        "Nitrate (antianginal)",
        "",
        "Tablet (CR): 2.6 mg, 6.4 mg; Sublingual tablet: 0.5 mg",
        True,
        "nitroglycerin",
    ),
    ("digoxin", "C01AA05", "Cardiac glycoside", "", "Tablet: 0.25 mg", True, ""),
    ("warfarin", "B01AA03", "Anticoagulant (vitamin K antagonist)", "", "Tablet: 1 mg, 2 mg, 5 mg", True, ""),
    (
        "acenocoumarol",
        "B01AA07",
        "Anticoagulant (vitamin K antagonist)",
        "",
        "Tablet: 1 mg, 2 mg, 4 mg",
        True,
        "nicoumalone",
    ),
    ("clopidogrel", "B01AC04", "Antiplatelet (P2Y12 inhibitor)", "", "Tablet: 75 mg", True, ""),
    ("tranexamic acid", "B02AA02", "Antifibrinolytic", "", "Tablet: 500 mg; Injection: 100 mg/mL", True, ""),
    # diabetes, thyroid
    (
        "metformin",
        "A10BA02",
        "Antidiabetic (biguanide)",
        "",
        "Tablet: 500 mg, 850 mg, 1000 mg; Tablet (SR): 500 mg, 1000 mg",
        True,
        "",
    ),
    (
        "glimepiride",
        "A10BB12",
        "Antidiabetic (sulfonylurea)",
        "sulfonylureas",
        "Tablet: 0.5 mg, 1 mg, 2 mg, 3 mg, 4 mg",
        True,
        "",
    ),
    (
        "gliclazide",
        "A10BB09",
        "Antidiabetic (sulfonylurea)",
        "sulfonylureas",
        "Tablet: 40 mg, 80 mg; Tablet (MR): 30 mg, 60 mg",
        True,
        "",
    ),
    (
        "glibenclamide",
        "A10BB01",
        "Antidiabetic (sulfonylurea)",
        "sulfonylureas",
        "Tablet: 2.5 mg, 5 mg",
        True,
        "glyburide",
    ),
    ("sitagliptin", "A10BH01", "Antidiabetic (DPP-4 inhibitor)", "", "Tablet: 50 mg, 100 mg", False, ""),
    ("vildagliptin", "A10BH02", "Antidiabetic (DPP-4 inhibitor)", "", "Tablet: 50 mg", False, ""),
    ("teneligliptin", "A10BH08", "Antidiabetic (DPP-4 inhibitor)", "", "Tablet: 20 mg", False, ""),
    ("dapagliflozin", "A10BK01", "Antidiabetic (SGLT2 inhibitor)", "", "Tablet: 5 mg, 10 mg", False, ""),
    ("empagliflozin", "A10BK03", "Antidiabetic (SGLT2 inhibitor)", "", "Tablet: 10 mg, 25 mg", False, ""),
    ("voglibose", "A10BF03", "Antidiabetic (alpha-glucosidase inhibitor)", "", "Tablet: 0.2 mg, 0.3 mg", False, ""),
    ("pioglitazone", "A10BG03", "Antidiabetic (thiazolidinedione)", "", "Tablet: 15 mg, 30 mg", False, ""),
    (
        "insulin human",
        "A10AB01",
        "Insulin (short-acting, regular)",
        "",
        "Injection: 40 IU/mL, 100 IU/mL",
        True,
        "regular insulin, soluble insulin",
    ),
    (
        "insulin isophane",
        "A10AC01",
        "Insulin (intermediate-acting, NPH)",
        "",
        "Injection: 40 IU/mL, 100 IU/mL",
        True,
        "nph insulin",
    ),
    ("insulin glargine", "A10AE04", "Insulin (long-acting analogue)", "", "Injection: 100 IU/mL", True, ""),
    ("insulin aspart", "A10AB05", "Insulin (rapid-acting analogue)", "", "Injection: 100 IU/mL", False, ""),
    (
        "levothyroxine",
        "H03AA01",
        "Thyroid hormone",
        "",
        "Tablet: 12.5 mcg, 25 mcg, 50 mcg, 75 mcg, 100 mcg",
        True,
        "thyroxine, levothyroxine sodium",
    ),
    ("carbimazole", "H03BB01", "Antithyroid", "", "Tablet: 5 mg, 10 mg", True, ""),
    # vitamins, minerals, haematinics
    ("calcium carbonate", "A12AA04", "Calcium supplement", "", "Tablet: 500 mg (elemental calcium)", True, "calcium"),
    (
        "cholecalciferol",
        "A11CC05",
        "Vitamin D3",
        "",
        "Sachet: 60000 IU; Capsule: 60000 IU; Tablet: 1000 IU",
        True,
        "vitamin d3",
    ),
    ("calcitriol", "A11CC04", "Vitamin D (active)", "", "Capsule: 0.25 mcg", False, ""),
    ("folic acid", "B03BB01", "Vitamin B9", "", "Tablet: 0.4 mg, 5 mg", True, ""),
    ("ferrous sulfate", "B03AA07", "Iron supplement", "", "Tablet: 60 mg elemental iron", True, "ferrous sulphate"),
    ("ferrous fumarate", "B03AA02", "Iron supplement", "", "", False, ""),
    ("ferrous ascorbate", "B03AA10", "Iron supplement", "", "Tablet: 100 mg elemental iron", False, ""),
    ("iron sucrose", "B03AC", "Iron (parenteral)", "", "Injection: 20 mg/mL", True, ""),
    ("cyanocobalamin", "B03BA01", "Vitamin B12", "", "Injection: 1000 mcg/mL", True, "vitamin b12"),
    (
        "mecobalamin",
        "B03BA05",
        "Vitamin B12 (methylcobalamin)",
        "",
        "Tablet: 500 mcg, 1500 mcg",
        False,
        "methylcobalamin",
    ),
    ("vitamin b complex", "A11EA", "Vitamin B complex", "", "", False, "b complex"),
    ("ascorbic acid", "A11GA01", "Vitamin C", "", "Chewable tablet: 500 mg", True, "vitamin c"),
    ("tocopherol", "A11HA03", "Vitamin E", "", "Capsule: 200 mg, 400 mg", False, "vitamin e, tocopheryl acetate"),
    ("retinol", "A11CA01", "Vitamin A", "", "Oral solution: 100000 IU/mL", True, "vitamin a"),
    # nervous system, psychiatry
    ("escitalopram", "N06AB10", "Antidepressant (SSRI)", "", "Tablet: 5 mg, 10 mg, 20 mg", True, ""),
    ("sertraline", "N06AB06", "Antidepressant (SSRI)", "", "Tablet: 25 mg, 50 mg, 100 mg", True, ""),
    ("fluoxetine", "N06AB03", "Antidepressant (SSRI)", "", "Capsule: 10 mg, 20 mg", True, ""),
    ("amitriptyline", "N06AA09", "Antidepressant (tricyclic)", "", "Tablet: 10 mg, 25 mg", True, ""),
    (
        "clonazepam",
        "N03AE01",
        "Benzodiazepine (antiepileptic)",
        "benzodiazepines",
        "Tablet: 0.25 mg, 0.5 mg, 1 mg",
        True,
        "",
    ),
    ("alprazolam", "N05BA12", "Benzodiazepine (anxiolytic)", "benzodiazepines", "Tablet: 0.25 mg, 0.5 mg", False, ""),
    ("diazepam", "N05BA01", "Benzodiazepine", "benzodiazepines", "Tablet: 2 mg, 5 mg; Injection: 5 mg/mL", True, ""),
    ("lorazepam", "N05BA06", "Benzodiazepine", "benzodiazepines", "Tablet: 1 mg, 2 mg; Injection: 2 mg/mL", True, ""),
    (
        "etizolam",
        "N05BA19",
        "Benzodiazepine analogue (thienodiazepine)",
        "benzodiazepines",
        "Tablet: 0.25 mg, 0.5 mg",
        False,
        "",
    ),
    ("olanzapine", "N05AH03", "Antipsychotic (atypical)", "", "Tablet: 2.5 mg, 5 mg, 10 mg", True, ""),
    ("risperidone", "N05AX08", "Antipsychotic (atypical)", "", "Tablet: 1 mg, 2 mg, 4 mg", True, ""),
    ("haloperidol", "N05AD01", "Antipsychotic (typical)", "", "Tablet: 1.5 mg, 5 mg; Injection: 5 mg/mL", True, ""),
    (
        "sodium valproate",
        "N03AG01",
        "Antiepileptic",
        "",
        "Tablet: 200 mg, 500 mg; Tablet (CR): 300 mg, 500 mg",
        True,
        "valproic acid, divalproex",
    ),
    (
        "phenytoin",
        "N03AB02",
        "Antiepileptic (hydantoin)",
        "aromatic_anticonvulsants",
        "Tablet: 50 mg, 100 mg",
        True,
        "",
    ),
    (
        "carbamazepine",
        "N03AF01",
        "Antiepileptic",
        "aromatic_anticonvulsants",
        "Tablet: 100 mg, 200 mg; Tablet (CR): 200 mg, 400 mg",
        True,
        "",
    ),
    (
        "phenobarbital",
        "N03AA02",
        "Antiepileptic (barbiturate)",
        "aromatic_anticonvulsants",
        "Tablet: 30 mg, 60 mg",
        True,
        "phenobarbitone",
    ),
    ("levetiracetam", "N03AX14", "Antiepileptic", "", "Tablet: 250 mg, 500 mg, 750 mg", True, ""),
    ("gabapentin", "N03AX12", "Antiepileptic; neuropathic pain", "", "Capsule: 100 mg, 300 mg", False, ""),
    ("pregabalin", "N03AX16", "Neuropathic pain; antiepileptic", "", "Capsule: 75 mg, 150 mg", False, ""),
    ("betahistine", "N07CA01", "Antivertigo", "", "Tablet: 8 mg, 16 mg", False, ""),
    ("cinnarizine", "N07CA02", "Antivertigo (antihistamine)", "", "Tablet: 25 mg", False, ""),
    ("flunarizine", "N07CA03", "Antivertigo; migraine prophylaxis", "", "Tablet: 5 mg, 10 mg", False, ""),
    ("prochlorperazine", "N05AB04", "Antiemetic and antivertigo (phenothiazine)", "", "Tablet: 5 mg", True, ""),
    # urology, sexual health, women's health
    ("tamsulosin", "G04CA02", "Alpha-1 blocker (BPH)", "", "Capsule (MR): 0.4 mg", True, ""),
    ("dutasteride", "G04CB02", "5-alpha reductase inhibitor", "", "Capsule: 0.5 mg", False, ""),
    ("silodosin", "G04CA04", "Alpha-1 blocker (BPH)", "", "Capsule: 4 mg, 8 mg", False, ""),
    ("flavoxate", "G04BD02", "Urinary antispasmodic", "", "Tablet: 200 mg", False, ""),
    ("sildenafil", "G04BE03", "PDE-5 inhibitor", "", "Tablet: 25 mg, 50 mg, 100 mg", False, ""),
    ("tadalafil", "G04BE08", "PDE-5 inhibitor", "", "Tablet: 5 mg, 10 mg, 20 mg", False, ""),
    (
        "medroxyprogesterone",
        "G03DA02",
        "Progestogen",
        "",
        "Tablet: 10 mg; Injection: 150 mg/mL",
        True,
        "medroxyprogesterone acetate",
    ),
    ("norethisterone", "G03DC02", "Progestogen", "", "Tablet: 5 mg", True, "norethindrone"),
    ("dydrogesterone", "G03DB01", "Progestogen", "", "Tablet: 10 mg", False, ""),
    ("progesterone", "G03DA04", "Progestogen (natural micronised)", "", "Capsule: 100 mg, 200 mg", True, ""),
    ("levonorgestrel", "G03AD01", "Progestogen (emergency contraceptive)", "", "Tablet: 1.5 mg", True, ""),
    ("ethinylestradiol", "G03CA01", "Estrogen (in combined oral contraceptives)", "", "", True, "ethinyl estradiol"),
    ("clomifene", "G03GB02", "Ovulation stimulant", "", "Tablet: 25 mg, 50 mg, 100 mg", True, "clomiphene"),
    ("misoprostol", "G02AD06", "Prostaglandin", "", "Tablet: 200 mcg", True, ""),
    # skin, eye, local
    ("benzoyl peroxide", "D10AE01", "Anti-acne", "", "Gel: 2.5%, 5%", True, ""),
    ("adapalene", "D10AD03", "Anti-acne (retinoid)", "", "Gel: 0.1%", False, ""),
    (
        "lidocaine",
        "N01BB02",
        "Local anaesthetic (amide)",
        "amide_local_anaesthetics",
        "Jelly: 2%; Injection: 2%",
        True,
        "lignocaine, xylocaine",
    ),
    (
        "povidone-iodine",
        "D08AG02",
        "Antiseptic (iodine)",
        "iodine",
        "Ointment: 5%; Solution: 5%, 10%",
        True,
        "povidone iodine",
    ),
    (
        "carboxymethylcellulose",
        "S01XA20",
        "Artificial tears (ocular lubricant)",
        "",
        "Eye drops: 0.5%, 1%",
        True,
        "carmellose",
    ),
    ("docusate sodium", "A06AA02", "Ear wax softener; stool softener", "", "Ear drops: 5%", False, ""),
]

# Generic fixed-dose combinations: (name, [(inn, strength), ...], form, nlem)
COMBINATIONS: list[tuple[str, list[tuple[str, str]], str, bool]] = [
    ("Amoxicillin + Clavulanic acid", [("amoxicillin", "500 mg"), ("clavulanic acid", "125 mg")], "Tablet", True),
    ("Amoxicillin + Clavulanic acid", [("amoxicillin", "875 mg"), ("clavulanic acid", "125 mg")], "Tablet", False),
    ("Amoxicillin + Clavulanic acid", [("amoxicillin", "250 mg"), ("clavulanic acid", "125 mg")], "Tablet", False),
    (
        "Amoxicillin + Clavulanic acid",
        [("amoxicillin", "200 mg/5 mL"), ("clavulanic acid", "28.5 mg/5 mL")],
        "Oral suspension",
        True,
    ),
    (
        "Amoxicillin + Clavulanic acid",
        [("amoxicillin", "400 mg/5 mL"), ("clavulanic acid", "57 mg/5 mL")],
        "Oral suspension",
        False,
    ),
    ("Cotrimoxazole", [("sulfamethoxazole", "400 mg"), ("trimethoprim", "80 mg")], "Tablet", True),
    ("Cotrimoxazole", [("sulfamethoxazole", "800 mg"), ("trimethoprim", "160 mg")], "Tablet", True),
    ("Cotrimoxazole", [("sulfamethoxazole", "200 mg/5 mL"), ("trimethoprim", "40 mg/5 mL")], "Oral suspension", True),
    ("Artemether + Lumefantrine", [("artemether", "20 mg"), ("lumefantrine", "120 mg")], "Tablet", True),
    ("Artemether + Lumefantrine", [("artemether", "80 mg"), ("lumefantrine", "480 mg")], "Tablet", True),
    (
        "Ferrous sulfate + Folic acid",
        [("ferrous sulfate", "100 mg elemental iron"), ("folic acid", "0.5 mg")],
        "Tablet",
        True,
    ),
    (
        "Levonorgestrel + Ethinylestradiol",
        [("levonorgestrel", "0.15 mg"), ("ethinylestradiol", "0.03 mg")],
        "Tablet",
        True,
    ),
    (
        "Rifampicin + Isoniazid + Pyrazinamide + Ethambutol",
        [("rifampicin", "150 mg"), ("isoniazid", "75 mg"), ("pyrazinamide", "400 mg"), ("ethambutol", "275 mg")],
        "Tablet",
        True,
    ),
    ("Paracetamol + Ibuprofen", [("paracetamol", "325 mg"), ("ibuprofen", "400 mg")], "Tablet", False),
    ("Pantoprazole + Domperidone", [("pantoprazole", "40 mg"), ("domperidone", "30 mg")], "Capsule (SR)", False),
    ("Rabeprazole + Domperidone", [("rabeprazole", "20 mg"), ("domperidone", "30 mg")], "Capsule (SR)", False),
    ("Glimepiride + Metformin", [("glimepiride", "1 mg"), ("metformin", "500 mg")], "Tablet (SR)", False),
    ("Glimepiride + Metformin", [("glimepiride", "2 mg"), ("metformin", "500 mg")], "Tablet (SR)", False),
    (
        "Telmisartan + Hydrochlorothiazide",
        [("telmisartan", "40 mg"), ("hydrochlorothiazide", "12.5 mg")],
        "Tablet",
        False,
    ),
    ("Telmisartan + Amlodipine", [("telmisartan", "40 mg"), ("amlodipine", "5 mg")], "Tablet", False),
    ("Montelukast + Levocetirizine", [("montelukast", "10 mg"), ("levocetirizine", "5 mg")], "Tablet", False),
    (
        "Calcium carbonate + Cholecalciferol",
        [("calcium carbonate", "500 mg"), ("cholecalciferol", "250 IU")],
        "Tablet",
        False,
    ),
    ("Budesonide + Formoterol", [("budesonide", "200 mcg/dose"), ("formoterol", "6 mcg/dose")], "Inhaler", True),
    ("Salmeterol + Fluticasone", [("salmeterol", "50 mcg/dose"), ("fluticasone", "250 mcg/dose")], "Rotacap", False),
    (
        "Levosalbutamol + Ipratropium",
        [("levosalbutamol", "1.25 mg/2.5 mL"), ("ipratropium", "500 mcg/2.5 mL")],
        "Respirator solution",
        False,
    ),
    ("Clopidogrel + Aspirin", [("clopidogrel", "75 mg"), ("acetylsalicylic acid", "75 mg")], "Capsule", False),
    ("Doxylamine + Pyridoxine", [("doxylamine", "10 mg"), ("pyridoxine", "10 mg")], "Tablet", False),
]

# Brands: "Name | maker | form | inn strength + inn strength". A blank maker means not stated.
BRANDS = """
Dolo 650 | Micro Labs | Tablet | paracetamol 650 mg
Dolo 500 | Micro Labs | Tablet | paracetamol 500 mg
Dolo 250 | Micro Labs | Oral suspension | paracetamol 250 mg/5 mL
Dolo Drops | Micro Labs | Drops | paracetamol 100 mg/mL
Crocin 500 | Haleon | Tablet | paracetamol 500 mg
Crocin 650 | Haleon | Tablet | paracetamol 650 mg
Crocin Advance | Haleon | Tablet | paracetamol 500 mg
Crocin Drops | Haleon | Drops | paracetamol 100 mg/mL
Calpol 500 | GSK | Tablet | paracetamol 500 mg
Calpol 650 | GSK | Tablet | paracetamol 650 mg
Calpol 250 | GSK | Oral suspension | paracetamol 250 mg/5 mL
Calpol 120 | GSK | Oral suspension | paracetamol 120 mg/5 mL
Pacimol 650 | Ipca | Tablet | paracetamol 650 mg
Pacimol 500 | Ipca | Tablet | paracetamol 500 mg
Paracip 500 | Cipla | Tablet | paracetamol 500 mg
Paracip 650 | Cipla | Tablet | paracetamol 650 mg
P-250 | Apex | Oral suspension | paracetamol 250 mg/5 mL
Brufen 400 | Abbott | Tablet | ibuprofen 400 mg
Brufen 200 | Abbott | Tablet | ibuprofen 200 mg
Ibugesic 400 | Cipla | Tablet | ibuprofen 400 mg
Ibugesic Plus | Cipla | Tablet | ibuprofen 400 mg + paracetamol 325 mg
Ibugesic Plus Suspension | Cipla | Oral suspension | ibuprofen 100 mg/5 mL + paracetamol 162.5 mg/5 mL
Combiflam | Sanofi | Tablet | ibuprofen 400 mg + paracetamol 325 mg
Combiflam Suspension | Sanofi | Oral suspension | ibuprofen 100 mg/5 mL + paracetamol 162.5 mg/5 mL
Meftal 500 | Blue Cross | Tablet | mefenamic acid 500 mg
Meftal 250 | Blue Cross | Tablet | mefenamic acid 250 mg
Meftal-P | Blue Cross | Oral suspension | mefenamic acid 100 mg/5 mL
Meftal-Spas | Blue Cross | Tablet | mefenamic acid 250 mg + dicycloverine 10 mg
Voveran 50 | Dr. Reddy's | Tablet | diclofenac 50 mg
Voveran SR 100 | Dr. Reddy's | Tablet (SR) | diclofenac 100 mg
Voveran Emulgel | | Gel | diclofenac 1%
Dynapar | Troikaa | Tablet | diclofenac 50 mg
Zerodol | Ipca | Tablet | aceclofenac 100 mg
Zerodol-P | Ipca | Tablet | aceclofenac 100 mg + paracetamol 325 mg
Hifenac | Intas | Tablet | aceclofenac 100 mg
Hifenac-P | Intas | Tablet | aceclofenac 100 mg + paracetamol 325 mg
Aceclo | Aristo | Tablet | aceclofenac 100 mg
Aceclo Plus | Aristo | Tablet | aceclofenac 100 mg + paracetamol 325 mg
Nise | Dr. Reddy's | Tablet | nimesulide 100 mg
Nimulid | Panacea Biotec | Tablet | nimesulide 100 mg
Naprosyn 250 | RPG Life Sciences | Tablet | naproxen 250 mg
Naprosyn 500 | RPG Life Sciences | Tablet | naproxen 500 mg
Nucoxia 90 | Zydus | Tablet | etoricoxib 90 mg
Nucoxia 60 | Zydus | Tablet | etoricoxib 60 mg
Etoshine 90 | Sun Pharma | Tablet | etoricoxib 90 mg
Ultracet | Janssen | Tablet | tramadol 37.5 mg + paracetamol 325 mg
Contramal 50 | Abbott | Capsule | tramadol 50 mg
Ecosprin 75 | USV | Tablet (gastro-resistant) | acetylsalicylic acid 75 mg
Ecosprin 150 | USV | Tablet (gastro-resistant) | acetylsalicylic acid 150 mg
Ecosprin AV 75 | USV | Capsule | acetylsalicylic acid 75 mg + atorvastatin 10 mg
Myoril 4 | Sanofi | Capsule | thiocolchicoside 4 mg
Sirdalud 2 | Novartis | Tablet | tizanidine 2 mg
Zyloric 100 | | Tablet | allopurinol 100 mg
Febutaz 40 | Sun Pharma | Tablet | febuxostat 40 mg
Zurig 40 | Zydus | Tablet | febuxostat 40 mg
Zycolchin 0.5 | Zydus | Tablet | colchicine 0.5 mg
Folitrax 7.5 | Ipca | Tablet | methotrexate 7.5 mg
HCQS 200 | Ipca | Tablet | hydroxychloroquine 200 mg
HCQS 400 | Ipca | Tablet | hydroxychloroquine 400 mg
Suminat 50 | Sun Pharma | Tablet | sumatriptan 50 mg
Mox 500 | Sun Pharma | Capsule | amoxicillin 500 mg
Mox 250 | Sun Pharma | Capsule | amoxicillin 250 mg
Novamox 500 | Cipla | Capsule | amoxicillin 500 mg
Novamox 250 | Cipla | Capsule | amoxicillin 250 mg
Almox 500 | Alkem | Capsule | amoxicillin 500 mg
Wymox 500 | Pfizer | Capsule | amoxicillin 500 mg
Augmentin 625 Duo | GSK | Tablet | amoxicillin 500 mg + clavulanic acid 125 mg
Augmentin 375 | GSK | Tablet | amoxicillin 250 mg + clavulanic acid 125 mg
Augmentin 1000 Duo | GSK | Tablet | amoxicillin 875 mg + clavulanic acid 125 mg
Augmentin Duo Oral Suspension | GSK | Oral suspension | amoxicillin 200 mg/5 mL + clavulanic acid 28.5 mg/5 mL
Augmentin DDS | GSK | Oral suspension | amoxicillin 400 mg/5 mL + clavulanic acid 57 mg/5 mL
Clavam 625 | Alkem | Tablet | amoxicillin 500 mg + clavulanic acid 125 mg
Clavam 375 | Alkem | Tablet | amoxicillin 250 mg + clavulanic acid 125 mg
Clavam 1000 | Alkem | Tablet | amoxicillin 875 mg + clavulanic acid 125 mg
Clavam Dry Syrup | Alkem | Oral suspension | amoxicillin 200 mg/5 mL + clavulanic acid 28.5 mg/5 mL
Moxikind-CV 625 | Mankind | Tablet | amoxicillin 500 mg + clavulanic acid 125 mg
Moxikind-CV 375 | Mankind | Tablet | amoxicillin 250 mg + clavulanic acid 125 mg
Moxclav 625 | Sun Pharma | Tablet | amoxicillin 500 mg + clavulanic acid 125 mg
Moxclav 375 | Sun Pharma | Tablet | amoxicillin 250 mg + clavulanic acid 125 mg
Amoxyclav 625 | Abbott | Tablet | amoxicillin 500 mg + clavulanic acid 125 mg
Novaclav 625 | Cipla | Tablet | amoxicillin 500 mg + clavulanic acid 125 mg
Advent 625 | Cipla | Tablet | amoxicillin 500 mg + clavulanic acid 125 mg
Advent Dry Syrup | Cipla | Oral suspension | amoxicillin 200 mg/5 mL + clavulanic acid 28.5 mg/5 mL
Azithral 500 | Alembic | Tablet | azithromycin 500 mg
Azithral 250 | Alembic | Tablet | azithromycin 250 mg
Azithral 200 Liquid | Alembic | Oral suspension | azithromycin 200 mg/5 mL
Azithral 100 Liquid | Alembic | Oral suspension | azithromycin 100 mg/5 mL
Azee 500 | Cipla | Tablet | azithromycin 500 mg
Azee 250 | Cipla | Tablet | azithromycin 250 mg
Azee 200 Dry Syrup | Cipla | Oral suspension | azithromycin 200 mg/5 mL
Azax 500 | Sun Pharma | Tablet | azithromycin 500 mg
Azax 250 | Sun Pharma | Tablet | azithromycin 250 mg
ATM 500 | Indoco | Tablet | azithromycin 500 mg
Zithromax 500 | Pfizer | Tablet | azithromycin 500 mg
Azicip 500 | Cipla | Tablet | azithromycin 500 mg
Claribid 500 | Abbott | Tablet | clarithromycin 500 mg
Claribid 250 | Abbott | Tablet | clarithromycin 250 mg
Althrocin 500 | Alembic | Tablet | erythromycin 500 mg
Althrocin 250 | Alembic | Tablet | erythromycin 250 mg
Roxid 150 | Alembic | Tablet | roxithromycin 150 mg
Taxim-O 200 | Alkem | Tablet | cefixime 200 mg
Taxim-O 100 | Alkem | Tablet | cefixime 100 mg
Taxim-O 50 DT | Alkem | Dispersible tablet | cefixime 50 mg
Taxim-O Dry Syrup | Alkem | Oral suspension | cefixime 50 mg/5 mL
Zifi 200 | FDC | Tablet | cefixime 200 mg
Zifi 100 | FDC | Tablet | cefixime 100 mg
Zifi Dry Syrup | FDC | Oral suspension | cefixime 50 mg/5 mL
Mahacef 200 | Mankind | Tablet | cefixime 200 mg
Milixim 200 | | Tablet | cefixime 200 mg
Topcef 200 | | Tablet | cefixime 200 mg
Cepodem 200 | Sun Pharma | Tablet | cefpodoxime 200 mg
Cepodem 100 | Sun Pharma | Tablet | cefpodoxime 100 mg
Cepodem Dry Syrup | Sun Pharma | Oral suspension | cefpodoxime 50 mg/5 mL
Monocef-O 200 | Aristo | Tablet | cefpodoxime 200 mg
Ceftum 500 | GSK | Tablet | cefuroxime 500 mg
Ceftum 250 | GSK | Tablet | cefuroxime 250 mg
Cefakind 500 | Mankind | Tablet | cefuroxime 500 mg
Sporidex 500 | Sun Pharma | Capsule | cefalexin 500 mg
Sporidex 250 | Sun Pharma | Capsule | cefalexin 250 mg
Phexin 500 | GSK | Capsule | cefalexin 500 mg
Droxyl 500 | Sun Pharma | Tablet | cefadroxil 500 mg
Odoxil 500 | Lupin | Tablet | cefadroxil 500 mg
Monocef 1 g | Aristo | Injection | ceftriaxone 1 g
Ciplox 500 | Cipla | Tablet | ciprofloxacin 500 mg
Ciplox 250 | Cipla | Tablet | ciprofloxacin 250 mg
Ciplox Eye Drops | Cipla | Eye drops | ciprofloxacin 0.3%
Cifran 500 | Sun Pharma | Tablet | ciprofloxacin 500 mg
Ciprobid 500 | Zydus | Tablet | ciprofloxacin 500 mg
Zanocin 200 | Sun Pharma | Tablet | ofloxacin 200 mg
Zanocin 400 | Sun Pharma | Tablet | ofloxacin 400 mg
Oflox 200 | Cipla | Tablet | ofloxacin 200 mg
Oflox 400 | Cipla | Tablet | ofloxacin 400 mg
Zenflox 200 | Mankind | Tablet | ofloxacin 200 mg
O2 | Medley | Tablet | ofloxacin 200 mg + ornidazole 500 mg
Zenflox-OZ | Mankind | Tablet | ofloxacin 200 mg + ornidazole 500 mg
Levoflox 500 | Cipla | Tablet | levofloxacin 500 mg
Levoflox 750 | Cipla | Tablet | levofloxacin 750 mg
Glevo 500 | Glenmark | Tablet | levofloxacin 500 mg
Tavanic 500 | Sanofi | Tablet | levofloxacin 500 mg
Norflox 400 | Cipla | Tablet | norfloxacin 400 mg
Norflox-TZ | Cipla | Tablet | norfloxacin 400 mg + tinidazole 600 mg
Doxt-SL | Dr. Reddy's | Capsule | doxycycline 100 mg + lactic acid bacillus 5 billion spores
Doxy-1 L-DR Forte | USV | Capsule | doxycycline 100 mg + lactic acid bacillus 5 billion spores
Septran DS | GSK | Tablet | sulfamethoxazole 800 mg + trimethoprim 160 mg
Septran | GSK | Tablet | sulfamethoxazole 400 mg + trimethoprim 80 mg
Septran Suspension | GSK | Oral suspension | sulfamethoxazole 200 mg/5 mL + trimethoprim 40 mg/5 mL
Bactrim DS | Abbott | Tablet | sulfamethoxazole 800 mg + trimethoprim 160 mg
Niftran 100 | Sun Pharma | Capsule | nitrofurantoin 100 mg
Martifur MR 100 | | Capsule | nitrofurantoin 100 mg
Fosirol 3 g | | Granules | fosfomycin 3 g
Lizolid 600 | Glenmark | Tablet | linezolid 600 mg
Linospan 600 | Cipla | Tablet | linezolid 600 mg
Flagyl 400 | Abbott | Tablet | metronidazole 400 mg
Flagyl 200 | Abbott | Tablet | metronidazole 200 mg
Metrogyl 400 | J. B. Chemicals | Tablet | metronidazole 400 mg
Metrogyl 200 | J. B. Chemicals | Tablet | metronidazole 200 mg
Metrogyl Suspension | J. B. Chemicals | Oral suspension | metronidazole 200 mg/5 mL
Aristogyl 400 | Aristo | Tablet | metronidazole 400 mg
Tiniba 500 | Zydus | Tablet | tinidazole 500 mg
Fasigyn 500 | Pfizer | Tablet | tinidazole 500 mg
Ornida 500 | | Tablet | ornidazole 500 mg
Akurit-4 | Lupin | Tablet | rifampicin 150 mg + isoniazid 75 mg + pyrazinamide 400 mg + ethambutol 275 mg
R-Cinex | Lupin | Capsule | rifampicin 600 mg + isoniazid 300 mg
Lariago 250 | Ipca | Tablet | chloroquine 250 mg
Lumerax 80 | Ipca | Tablet | artemether 80 mg + lumefantrine 480 mg
Falcigo 50 | Zydus | Tablet | artesunate 50 mg
Zentel 400 | GSK | Tablet | albendazole 400 mg
Zentel Suspension | GSK | Oral suspension | albendazole 200 mg/5 mL
Bandy 400 | Mankind | Tablet | albendazole 400 mg
Mebex 100 | Cipla | Tablet | mebendazole 100 mg
Ivecop 12 | Menarini | Tablet | ivermectin 12 mg
Ivecop 6 | Menarini | Tablet | ivermectin 6 mg
Permite 5% Cream | Dr. Reddy's | Cream | permethrin 5%
Forcan 150 | Cipla | Tablet | fluconazole 150 mg
Zocon 150 | FDC | Tablet | fluconazole 150 mg
Syscan 150 | | Tablet | fluconazole 150 mg
Itaspor 100 | Intas | Capsule | itraconazole 100 mg
Canditral 100 | Glenmark | Capsule | itraconazole 100 mg
Canditral 200 | Glenmark | Capsule | itraconazole 200 mg
Terbicip 250 | Cipla | Tablet | terbinafine 250 mg
Sebifin 250 | Sun Pharma | Tablet | terbinafine 250 mg
Sebifin Cream | Sun Pharma | Cream | terbinafine 1%
Candid Cream | Glenmark | Cream | clotrimazole 1%
Candid-B Cream | Glenmark | Cream | clotrimazole 1% + beclometasone 0.025%
Candid Mouth Paint | Glenmark | Mouth paint | clotrimazole 1%
Candid Dusting Powder | Glenmark | Dusting powder | clotrimazole 1%
Candid V6 | Glenmark | Vaginal tablet | clotrimazole 100 mg
Canesten Cream | Bayer | Cream | clotrimazole 1%
Nizral Cream | | Cream | ketoconazole 2%
Nizoral Shampoo | | Shampoo | ketoconazole 2%
Lulifin Cream | | Cream | luliconazole 1%
Onabet Cream | Glenmark | Cream | sertaconazole 2%
Mycostatin | | Oral suspension | nystatin 100000 IU/mL
Acivir 400 DT | Cipla | Dispersible tablet | aciclovir 400 mg
Acivir 800 DT | Cipla | Dispersible tablet | aciclovir 800 mg
Acivir Cream | Cipla | Cream | aciclovir 5%
Zovirax 400 | GSK | Tablet | aciclovir 400 mg
Valcivir 500 | Cipla | Tablet | valaciclovir 500 mg
Valcivir 1000 | Cipla | Tablet | valaciclovir 1000 mg
Fluvir 75 | Hetero | Capsule | oseltamivir 75 mg
Antiflu 75 | Cipla | Capsule | oseltamivir 75 mg
Pan 40 | Alkem | Tablet | pantoprazole 40 mg
Pan 20 | Alkem | Tablet | pantoprazole 20 mg
Pan-D | Alkem | Capsule (SR) | pantoprazole 40 mg + domperidone 30 mg
Pantocid 40 | Sun Pharma | Tablet | pantoprazole 40 mg
Pantocid DSR | Sun Pharma | Capsule (SR) | pantoprazole 40 mg + domperidone 30 mg
Pantop 40 | Aristo | Tablet | pantoprazole 40 mg
Pantodac 40 | Zydus | Tablet | pantoprazole 40 mg
Pantodac DSR | Zydus | Capsule (SR) | pantoprazole 40 mg + domperidone 30 mg
Omez 20 | Dr. Reddy's | Capsule | omeprazole 20 mg
Omez-D | Dr. Reddy's | Capsule | omeprazole 20 mg + domperidone 10 mg
Ocid 20 | Zydus | Capsule | omeprazole 20 mg
Razo 20 | Dr. Reddy's | Tablet | rabeprazole 20 mg
Razo-D | Dr. Reddy's | Capsule (SR) | rabeprazole 20 mg + domperidone 30 mg
Rablet 20 | Lupin | Tablet | rabeprazole 20 mg
Rablet-D | Lupin | Capsule (SR) | rabeprazole 20 mg + domperidone 30 mg
Cyra-D | | Capsule (SR) | rabeprazole 20 mg + domperidone 30 mg
Happi 20 | | Tablet | rabeprazole 20 mg
Nexpro 40 | Torrent | Tablet | esomeprazole 40 mg
Nexpro RD | Torrent | Capsule (SR) | esomeprazole 40 mg + domperidone 30 mg
Esoz 40 | Glenmark | Tablet | esomeprazole 40 mg
Sompraz 40 | Sun Pharma | Tablet | esomeprazole 40 mg
Famocid 40 | Sun Pharma | Tablet | famotidine 40 mg
Famocid 20 | Sun Pharma | Tablet | famotidine 20 mg
Rantac 150 | J. B. Chemicals | Tablet | ranitidine 150 mg
Aciloc 150 | Zydus | Tablet | ranitidine 150 mg
Sucrafil Suspension | | Oral suspension | sucralfate 1 g/10 mL
Gelusil MPS | Pfizer | Oral suspension | aluminium hydroxide 250 mg/5 mL + magnesium hydroxide 250 mg/5 mL + simeticone 50 mg/5 mL
Domstal 10 | Torrent | Tablet | domperidone 10 mg
Domstal Suspension | Torrent | Oral suspension | domperidone 1 mg/mL
Vomistop 10 | Cipla | Tablet | domperidone 10 mg
Emeset 4 | Cipla | Tablet | ondansetron 4 mg
Emeset 8 | Cipla | Tablet | ondansetron 8 mg
Emeset Syrup | Cipla | Oral solution | ondansetron 2 mg/5 mL
Ondem 4 | Alkem | Tablet | ondansetron 4 mg
Ondem MD 4 | Alkem | Orally disintegrating tablet | ondansetron 4 mg
Ondem Syrup | Alkem | Oral solution | ondansetron 2 mg/5 mL
Vomikind 4 | Mankind | Tablet | ondansetron 4 mg
Perinorm 10 | Ipca | Tablet | metoclopramide 10 mg
Cyclopam | Indoco | Tablet | dicycloverine 20 mg + paracetamol 500 mg
Colimex Drops | Wallace | Drops | dicycloverine 10 mg/mL + simeticone 40 mg/mL
Buscopan 10 | Sanofi | Tablet | hyoscine butylbromide 10 mg
Drotin 40 | Walter Bushnell | Tablet | drotaverine 40 mg
Drotin 80 | Walter Bushnell | Tablet | drotaverine 80 mg
Drotin-M | Walter Bushnell | Tablet | drotaverine 80 mg + mefenamic acid 250 mg
Redotil 100 | Dr. Reddy's | Capsule | racecadotril 100 mg
Redotil 30 Sachet | Dr. Reddy's | Sachet | racecadotril 30 mg
Eldoper 2 | Micro Labs | Capsule | loperamide 2 mg
Imodium 2 | Johnson & Johnson | Capsule | loperamide 2 mg
Electral | FDC | Powder for oral solution | oral rehydration salts 21.8 g/L
ORS-L | | Powder for oral solution | oral rehydration salts 20.5 g/L
Zinconia 20 | | Dispersible tablet | zinc sulfate 20 mg
Econorm 250 | Dr. Reddy's | Sachet | saccharomyces boulardii 250 mg
Enterogermina | Sanofi | Oral suspension | bacillus clausii 2 billion spores/5 mL
Duphalac | Abbott | Oral solution | lactulose 10 g/15 mL
Looz | | Oral solution | lactulose 10 g/15 mL
Dulcolax 5 | Sanofi | Tablet | bisacodyl 5 mg
Sat-Isabgol | Sidhpur | Husk | ispaghula 3.5 g/5 g
Cremaffin | Abbott | Oral suspension | liquid paraffin 1.25 mL/5 mL + magnesium hydroxide 3.75 mL/5 mL
Cremaffin Plus | Abbott | Oral suspension | liquid paraffin 1.25 mL/5 mL + magnesium hydroxide 3.75 mL/5 mL + sodium picosulfate 3.33 mg/5 mL
Udiliv 300 | Abbott | Tablet | ursodeoxycholic acid 300 mg
Udiliv 150 | Abbott | Tablet | ursodeoxycholic acid 150 mg
Doxinate | | Tablet | doxylamine 10 mg + pyridoxine 10 mg
Cetzine 10 | Dr. Reddy's | Tablet | cetirizine 10 mg
Cetzine Syrup | Dr. Reddy's | Syrup | cetirizine 5 mg/5 mL
Okacet 10 | Cipla | Tablet | cetirizine 10 mg
Alerid 10 | Cipla | Tablet | cetirizine 10 mg
Zyrtec 10 | | Tablet | cetirizine 10 mg
Levocet 5 | | Tablet | levocetirizine 5 mg
Xyzal 5 | Dr. Reddy's | Tablet | levocetirizine 5 mg
Vozet 5 | | Tablet | levocetirizine 5 mg
Teczine 5 | | Tablet | levocetirizine 5 mg
Montair 10 | Cipla | Tablet | montelukast 10 mg
Montair 4 | Cipla | Chewable tablet | montelukast 4 mg
Montair-LC | Cipla | Tablet | montelukast 10 mg + levocetirizine 5 mg
Montair-LC Kid | Cipla | Tablet | montelukast 4 mg + levocetirizine 2.5 mg
Montek-LC | Sun Pharma | Tablet | montelukast 10 mg + levocetirizine 5 mg
Telekast-L | Lupin | Tablet | montelukast 10 mg + levocetirizine 5 mg
Romilast-L | Sun Pharma | Tablet | montelukast 10 mg + levocetirizine 5 mg
Allegra 120 | Sanofi | Tablet | fexofenadine 120 mg
Allegra 180 | Sanofi | Tablet | fexofenadine 180 mg
Fexova 120 | Ipca | Tablet | fexofenadine 120 mg
Lorfast 10 | Zydus | Tablet | loratadine 10 mg
Bilaxten 20 | Menarini | Tablet | bilastine 20 mg
Avil 25 | Sanofi | Tablet | pheniramine 25 mg
Avil Injection | Sanofi | Injection | pheniramine 22.75 mg/mL
Atarax 25 | Dr. Reddy's | Tablet | hydroxyzine 25 mg
Atarax 10 | Dr. Reddy's | Tablet | hydroxyzine 10 mg
Piriton 4 | | Tablet | chlorphenamine 4 mg
Sinarest | Centaur | Tablet | paracetamol 500 mg + phenylephrine 10 mg + chlorphenamine 2 mg + caffeine 30 mg
Cheston Cold | Cipla | Tablet | cetirizine 5 mg + paracetamol 325 mg + phenylephrine 5 mg
Ascoril LS Syrup | Glenmark | Syrup | ambroxol 30 mg/5 mL + levosalbutamol 1 mg/5 mL + guaifenesin 50 mg/5 mL
Ascoril D | Glenmark | Syrup | dextromethorphan 10 mg/5 mL + chlorphenamine 2 mg/5 mL
Mucolite Syrup | | Syrup | ambroxol 15 mg/5 mL
Mucinac 600 | Cipla | Effervescent tablet | acetylcysteine 600 mg
Asthalin Inhaler | Cipla | Inhaler | salbutamol 100 mcg/dose
Asthalin 4 | Cipla | Tablet | salbutamol 4 mg
Asthalin 2 | Cipla | Tablet | salbutamol 2 mg
Asthalin Syrup | Cipla | Syrup | salbutamol 2 mg/5 mL
Asthalin Respules | Cipla | Respirator solution | salbutamol 2.5 mg/2.5 mL
Levolin Inhaler | Cipla | Inhaler | levosalbutamol 50 mcg/dose
Levolin Respules | Cipla | Respirator solution | levosalbutamol 0.63 mg/2.5 mL
Duolin Respules | Cipla | Respirator solution | levosalbutamol 1.25 mg/2.5 mL + ipratropium 500 mcg/2.5 mL
Budecort 200 Inhaler | Cipla | Inhaler | budesonide 200 mcg/dose
Budecort Respules | Cipla | Respirator suspension | budesonide 0.5 mg/2 mL
Foracort 200 Inhaler | Cipla | Inhaler | budesonide 200 mcg/dose + formoterol 6 mcg/dose
Foracort 400 Rotacap | Cipla | Rotacap | budesonide 400 mcg + formoterol 6 mcg
Seroflo 250 Rotacap | Cipla | Rotacap | salmeterol 50 mcg + fluticasone 250 mcg
Seroflo 250 Inhaler | Cipla | Inhaler | salmeterol 25 mcg/dose + fluticasone 250 mcg/dose
Tiova 18 Rotacap | Cipla | Rotacap | tiotropium 18 mcg
Ipravent Inhaler | Cipla | Inhaler | ipratropium 20 mcg/dose
Doxolin 400 | | Tablet | doxofylline 400 mg
Otrivin Adult | Haleon | Nasal drops | xylometazoline 0.1%
Otrivin Paediatric | Haleon | Nasal drops | xylometazoline 0.05%
Nasivion Adult | | Nasal spray | oxymetazoline 0.05%
Nasivion Paediatric | | Nasal drops | oxymetazoline 0.025%
Flomist Nasal Spray | Cipla | Nasal spray | fluticasone 50 mcg/dose
Nasonex Nasal Spray | | Nasal spray | mometasone 50 mcg/dose
Wysolone 10 | Pfizer | Tablet | prednisolone 10 mg
Wysolone 5 | Pfizer | Tablet | prednisolone 5 mg
Wysolone 20 | Pfizer | Tablet | prednisolone 20 mg
Omnacortil 10 | Macleods | Tablet | prednisolone 10 mg
Omnacortil 20 | Macleods | Tablet | prednisolone 20 mg
Omnacortil 5 | Macleods | Tablet | prednisolone 5 mg
Omnacortil Forte Syrup | Macleods | Oral solution | prednisolone 15 mg/5 mL
Defcort 6 | Macleods | Tablet | deflazacort 6 mg
Defcort 30 | Macleods | Tablet | deflazacort 30 mg
Medrol 4 | Pfizer | Tablet | methylprednisolone 4 mg
Medrol 16 | Pfizer | Tablet | methylprednisolone 16 mg
Dexona 0.5 | Zydus | Tablet | dexamethasone 0.5 mg
Decdan 0.5 | | Tablet | dexamethasone 0.5 mg
Betnovate Cream | GSK | Cream | betamethasone 0.1%
Betnovate-N | GSK | Cream | betamethasone 0.1% + neomycin 0.5%
Tenovate Cream | GSK | Cream | clobetasol 0.05%
T-Bact Ointment | GSK | Ointment | mupirocin 2%
Fucidin Cream | Leo | Cream | fusidic acid 2%
Silverex Cream | | Cream | silver sulfadiazine 1%
Clindac A Gel | Galderma | Gel | clindamycin 1%
Persol 2.5 Gel | Wallace | Gel | benzoyl peroxide 2.5%
Persol 5 Gel | Wallace | Gel | benzoyl peroxide 5%
Adaferin Gel | Galderma | Gel | adapalene 0.1%
Betadine Ointment | | Ointment | povidone-iodine 5%
Xylocaine 2% Jelly | | Jelly | lidocaine 2%
Moxicip Eye Drops | Cipla | Eye drops | moxifloxacin 0.5%
Vigamox Eye Drops | Alcon | Eye drops | moxifloxacin 0.5%
Milflox Eye Drops | Sun Pharma | Eye drops | moxifloxacin 0.5%
Toba Eye Drops | Sun Pharma | Eye drops | tobramycin 0.3%
Tobrex Eye Drops | Alcon | Eye drops | tobramycin 0.3%
Genticyn Eye Drops | | Eye drops | gentamicin 0.3%
Chlormycetin Applicaps | | Eye ointment | chloramphenicol 1%
Refresh Tears | Allergan | Eye drops | carboxymethylcellulose 0.5%
Waxsol Ear Drops | | Ear drops | docusate sodium 5%
Amlong 5 | Micro Labs | Tablet | amlodipine 5 mg
Amlong 2.5 | Micro Labs | Tablet | amlodipine 2.5 mg
Amlodac 5 | Zydus | Tablet | amlodipine 5 mg
Stamlo 5 | Dr. Reddy's | Tablet | amlodipine 5 mg
Amlip 5 | Cipla | Tablet | amlodipine 5 mg
Amlokind 5 | Mankind | Tablet | amlodipine 5 mg
Norvasc 5 | Pfizer | Tablet | amlodipine 5 mg
Cilacar 10 | J. B. Chemicals | Tablet | cilnidipine 10 mg
Cilacar 5 | J. B. Chemicals | Tablet | cilnidipine 5 mg
Depin 10 | Zydus | Capsule | nifedipine 10 mg
Telma 40 | Glenmark | Tablet | telmisartan 40 mg
Telma 20 | Glenmark | Tablet | telmisartan 20 mg
Telma 80 | Glenmark | Tablet | telmisartan 80 mg
Telma-H | Glenmark | Tablet | telmisartan 40 mg + hydrochlorothiazide 12.5 mg
Telma-AM | Glenmark | Tablet | telmisartan 40 mg + amlodipine 5 mg
Telmikind 40 | Mankind | Tablet | telmisartan 40 mg
Telsartan 40 | Dr. Reddy's | Tablet | telmisartan 40 mg
Tazloc 40 | USV | Tablet | telmisartan 40 mg
Losar 50 | Unichem | Tablet | losartan 50 mg
Losar-H | Unichem | Tablet | losartan 50 mg + hydrochlorothiazide 12.5 mg
Repace 50 | Sun Pharma | Tablet | losartan 50 mg
Losacar 50 | Zydus | Tablet | losartan 50 mg
Olmezest 20 | Sun Pharma | Tablet | olmesartan 20 mg
Cardace 5 | Sanofi | Capsule | ramipril 5 mg
Cardace 2.5 | Sanofi | Capsule | ramipril 2.5 mg
Envas 5 | Zydus | Tablet | enalapril 5 mg
Aten 50 | Zydus | Tablet | atenolol 50 mg
Aten 25 | Zydus | Tablet | atenolol 25 mg
Tenormin 50 | | Tablet | atenolol 50 mg
Met XL 25 | | Tablet (ER) | metoprolol 25 mg
Met XL 50 | | Tablet (ER) | metoprolol 50 mg
Metolar XR 25 | Cipla | Tablet (ER) | metoprolol 25 mg
Metolar XR 50 | Cipla | Tablet (ER) | metoprolol 50 mg
Prolomet XL 50 | Sun Pharma | Tablet (ER) | metoprolol 50 mg
Seloken XL 50 | AstraZeneca | Tablet (ER) | metoprolol 50 mg
Nebicard 5 | Torrent | Tablet | nebivolol 5 mg
Nebistar 5 | Lupin | Tablet | nebivolol 5 mg
Concor 5 | Merck | Tablet | bisoprolol 5 mg
Cardivas 6.25 | Sun Pharma | Tablet | carvedilol 6.25 mg
Carloc 6.25 | Cipla | Tablet | carvedilol 6.25 mg
Ciplar 40 | Cipla | Tablet | propranolol 40 mg
Ciplar 10 | Cipla | Tablet | propranolol 10 mg
Inderal 40 | Abbott | Tablet | propranolol 40 mg
Aquazide 12.5 | Sun Pharma | Tablet | hydrochlorothiazide 12.5 mg
Dytor 10 | Cipla | Tablet | torasemide 10 mg
Dytor 20 | Cipla | Tablet | torasemide 20 mg
Lasix 40 | Sanofi | Tablet | furosemide 40 mg
Aldactone 25 | | Tablet | spironolactone 25 mg
Lasilactone 50 | Sanofi | Tablet | furosemide 20 mg + spironolactone 50 mg
Atorva 10 | Zydus | Tablet | atorvastatin 10 mg
Atorva 20 | Zydus | Tablet | atorvastatin 20 mg
Atorva 40 | Zydus | Tablet | atorvastatin 40 mg
Storvas 10 | Sun Pharma | Tablet | atorvastatin 10 mg
Storvas 20 | Sun Pharma | Tablet | atorvastatin 20 mg
Atocor 10 | Dr. Reddy's | Tablet | atorvastatin 10 mg
Tonact 10 | Lupin | Tablet | atorvastatin 10 mg
Lipitor 10 | Pfizer | Tablet | atorvastatin 10 mg
Rosuvas 10 | Sun Pharma | Tablet | rosuvastatin 10 mg
Rosuvas 20 | Sun Pharma | Tablet | rosuvastatin 20 mg
Rozavel 10 | Sun Pharma | Tablet | rosuvastatin 10 mg
Crestor 10 | AstraZeneca | Tablet | rosuvastatin 10 mg
Lipicard 160 | USV | Tablet | fenofibrate 160 mg
Sorbitrate 5 | Abbott | Sublingual tablet | isosorbide dinitrate 5 mg
Monotrate 20 | Sun Pharma | Tablet | isosorbide mononitrate 20 mg
Nitrocontin 2.6 | Modi-Mundipharma | Tablet (CR) | glyceryl trinitrate 2.6 mg
Lanoxin 0.25 | | Tablet | digoxin 0.25 mg
Warf 5 | Cipla | Tablet | warfarin 5 mg
Acitrom 2 | Abbott | Tablet | acenocoumarol 2 mg
Clopilet 75 | Sun Pharma | Tablet | clopidogrel 75 mg
Clopilet-A 75 | Sun Pharma | Capsule | clopidogrel 75 mg + acetylsalicylic acid 75 mg
Plavix 75 | Sanofi | Tablet | clopidogrel 75 mg
Deplatt 75 | Torrent | Tablet | clopidogrel 75 mg
Deplatt-A 75 | Torrent | Capsule | clopidogrel 75 mg + acetylsalicylic acid 75 mg
Pause 500 | | Tablet | tranexamic acid 500 mg
Trapic 500 | | Tablet | tranexamic acid 500 mg
Glycomet 500 | USV | Tablet | metformin 500 mg
Glycomet 850 | USV | Tablet | metformin 850 mg
Glycomet SR 500 | USV | Tablet (SR) | metformin 500 mg
Glycomet SR 1000 | USV | Tablet (SR) | metformin 1000 mg
Glycomet-GP 1 | USV | Tablet (SR) | glimepiride 1 mg + metformin 500 mg
Glycomet-GP 2 | USV | Tablet (SR) | glimepiride 2 mg + metformin 500 mg
Glyciphage 500 | Franco-Indian | Tablet | metformin 500 mg
Glyciphage SR 500 | Franco-Indian | Tablet (SR) | metformin 500 mg
Cetapin XR 500 | Sanofi | Tablet (SR) | metformin 500 mg
Gluformin 500 | | Tablet | metformin 500 mg
Amaryl 1 | Sanofi | Tablet | glimepiride 1 mg
Amaryl 2 | Sanofi | Tablet | glimepiride 2 mg
Amaryl M 1 | Sanofi | Tablet (SR) | glimepiride 1 mg + metformin 500 mg
Amaryl M 2 | Sanofi | Tablet (SR) | glimepiride 2 mg + metformin 500 mg
Glimestar 1 | Mankind | Tablet | glimepiride 1 mg
Glimestar 2 | Mankind | Tablet | glimepiride 2 mg
Glimestar-M1 | Mankind | Tablet (SR) | glimepiride 1 mg + metformin 500 mg
Gemer 1 | Sun Pharma | Tablet (SR) | glimepiride 1 mg + metformin 500 mg
Gemer 2 | Sun Pharma | Tablet (SR) | glimepiride 2 mg + metformin 500 mg
Diamicron MR 60 | Serdia | Tablet (MR) | gliclazide 60 mg
Diamicron 80 | Serdia | Tablet | gliclazide 80 mg
Reclide 80 | Dr. Reddy's | Tablet | gliclazide 80 mg
Daonil 5 | Sanofi | Tablet | glibenclamide 5 mg
Januvia 100 | MSD | Tablet | sitagliptin 100 mg
Januvia 50 | MSD | Tablet | sitagliptin 50 mg
Janumet 50/500 | MSD | Tablet | sitagliptin 50 mg + metformin 500 mg
Istavel 100 | Sun Pharma | Tablet | sitagliptin 100 mg
Galvus 50 | Novartis | Tablet | vildagliptin 50 mg
Galvus Met 50/500 | Novartis | Tablet | vildagliptin 50 mg + metformin 500 mg
Jalra 50 | USV | Tablet | vildagliptin 50 mg
Jalra-M 50/500 | USV | Tablet | vildagliptin 50 mg + metformin 500 mg
Ziten 20 | Glenmark | Tablet | teneligliptin 20 mg
Forxiga 10 | AstraZeneca | Tablet | dapagliflozin 10 mg
Oxra 10 | Sun Pharma | Tablet | dapagliflozin 10 mg
Jardiance 10 | Boehringer Ingelheim | Tablet | empagliflozin 10 mg
Jardiance 25 | Boehringer Ingelheim | Tablet | empagliflozin 25 mg
Volix 0.2 | | Tablet | voglibose 0.2 mg
Pioz 15 | USV | Tablet | pioglitazone 15 mg
Human Mixtard 30/70 | Novo Nordisk | Injection | insulin human 30 IU/100 IU + insulin isophane 70 IU/100 IU
Huminsulin 30/70 | Lilly | Injection | insulin human 30 IU/100 IU + insulin isophane 70 IU/100 IU
Actrapid | Novo Nordisk | Injection | insulin human 100 IU/mL
Lantus | Sanofi | Injection | insulin glargine 100 IU/mL
Basalog | Biocon | Injection | insulin glargine 100 IU/mL
NovoMix 30 | Novo Nordisk | Injection | insulin aspart 100 IU/mL
Thyronorm 25 | Abbott | Tablet | levothyroxine 25 mcg
Thyronorm 50 | Abbott | Tablet | levothyroxine 50 mcg
Thyronorm 75 | Abbott | Tablet | levothyroxine 75 mcg
Thyronorm 100 | Abbott | Tablet | levothyroxine 100 mcg
Thyronorm 12.5 | Abbott | Tablet | levothyroxine 12.5 mcg
Eltroxin 50 | | Tablet | levothyroxine 50 mcg
Eltroxin 100 | | Tablet | levothyroxine 100 mcg
Thyrox 50 | Macleods | Tablet | levothyroxine 50 mcg
Neo-Mercazole 5 | Abbott | Tablet | carbimazole 5 mg
Shelcal 500 | Torrent | Tablet | calcium carbonate 500 mg + cholecalciferol 250 IU
Calcimax 500 | | Tablet | calcium carbonate 500 mg + cholecalciferol 250 IU
Uprise-D3 60K | Alkem | Capsule | cholecalciferol 60000 IU
Calcirol Sachet | Zydus | Sachet | cholecalciferol 60000 IU
D-Rise 60K | | Capsule | cholecalciferol 60000 IU
Rocaltrol | | Capsule | calcitriol 0.25 mcg
Folvite 5 | Pfizer | Tablet | folic acid 5 mg
Livogen | | Tablet | ferrous fumarate 152 mg + folic acid 1.5 mg
Orofer XT | Emcure | Tablet | ferrous ascorbate 100 mg elemental iron + folic acid 1.5 mg
Orofer-S | Emcure | Injection | iron sucrose 20 mg/mL
Neurobion Forte | Procter & Gamble | Tablet | vitamin b complex 1 tablet
Becosules | Pfizer | Capsule | vitamin b complex 1 capsule + ascorbic acid 150 mg
Nurokind 1500 | Mankind | Tablet | mecobalamin 1500 mcg
Methycobal 500 | | Tablet | mecobalamin 500 mcg
Limcee 500 | Abbott | Chewable tablet | ascorbic acid 500 mg
Celin 500 | | Chewable tablet | ascorbic acid 500 mg
Evion 400 | Procter & Gamble | Capsule | tocopherol 400 mg
Nexito 10 | Sun Pharma | Tablet | escitalopram 10 mg
Nexito 5 | Sun Pharma | Tablet | escitalopram 5 mg
Stalopam 10 | Lupin | Tablet | escitalopram 10 mg
Daxid 50 | Pfizer | Tablet | sertraline 50 mg
Serta 50 | | Tablet | sertraline 50 mg
Fludac 20 | Zydus | Capsule | fluoxetine 20 mg
Prodep 20 | Sun Pharma | Capsule | fluoxetine 20 mg
Tryptomer 10 | | Tablet | amitriptyline 10 mg
Tryptomer 25 | | Tablet | amitriptyline 25 mg
Clonotril 0.5 | Torrent | Tablet | clonazepam 0.5 mg
Rivotril 0.5 | | Tablet | clonazepam 0.5 mg
Alprax 0.25 | Torrent | Tablet | alprazolam 0.25 mg
Alprax 0.5 | Torrent | Tablet | alprazolam 0.5 mg
Restyl 0.25 | Cipla | Tablet | alprazolam 0.25 mg
Calmpose 5 | | Tablet | diazepam 5 mg
Ativan 2 | | Tablet | lorazepam 2 mg
Etilaam 0.5 | Intas | Tablet | etizolam 0.5 mg
Oleanz 5 | Sun Pharma | Tablet | olanzapine 5 mg
Sizodon 2 | Sun Pharma | Tablet | risperidone 2 mg
Serenace 5 | | Tablet | haloperidol 5 mg
Valparin 200 | Sanofi | Tablet | sodium valproate 200 mg
Encorate Chrono 500 | Sun Pharma | Tablet (CR) | sodium valproate 500 mg
Eptoin 100 | Abbott | Tablet | phenytoin 100 mg
Tegretol 200 | Novartis | Tablet | carbamazepine 200 mg
Mazetol 200 | Sun Pharma | Tablet | carbamazepine 200 mg
Gardenal 60 | | Tablet | phenobarbital 60 mg
Levipil 500 | Sun Pharma | Tablet | levetiracetam 500 mg
Levera 500 | Intas | Tablet | levetiracetam 500 mg
Gabapin 300 | Intas | Capsule | gabapentin 300 mg
Pregeb 75 | Intas | Capsule | pregabalin 75 mg
Pregalin 75 | Torrent | Capsule | pregabalin 75 mg
Lyrica 75 | Pfizer | Capsule | pregabalin 75 mg
Pregeb M 75 | Intas | Capsule | pregabalin 75 mg + mecobalamin 750 mcg
Vertin 16 | Abbott | Tablet | betahistine 16 mg
Vertin 8 | Abbott | Tablet | betahistine 8 mg
Stugeron 25 | Johnson & Johnson | Tablet | cinnarizine 25 mg
Sibelium 10 | Johnson & Johnson | Tablet | flunarizine 10 mg
Stemetil 5 | Abbott | Tablet | prochlorperazine 5 mg
Urimax 0.4 | Cipla | Capsule (MR) | tamsulosin 0.4 mg
Urimax-D | Cipla | Capsule | tamsulosin 0.4 mg + dutasteride 0.5 mg
Contiflo OD 0.4 | Sun Pharma | Capsule (MR) | tamsulosin 0.4 mg
Silodal 8 | Sun Pharma | Capsule | silodosin 8 mg
Urispas 200 | | Tablet | flavoxate 200 mg
Penegra 50 | Zydus | Tablet | sildenafil 50 mg
Manforce 50 | Mankind | Tablet | sildenafil 50 mg
Tadacip 20 | Cipla | Tablet | tadalafil 20 mg
Meprate 10 | Serum Institute | Tablet | medroxyprogesterone 10 mg
Primolut-N | | Tablet | norethisterone 5 mg
Regestrone 5 | | Tablet | norethisterone 5 mg
Duphaston 10 | Abbott | Tablet | dydrogesterone 10 mg
Susten 200 | Sun Pharma | Capsule | progesterone 200 mg
Susten 100 | Sun Pharma | Capsule | progesterone 100 mg
Mala-D | HLL Lifecare | Tablet | levonorgestrel 0.15 mg + ethinylestradiol 0.03 mg
Ovral-L | Pfizer | Tablet | levonorgestrel 0.15 mg + ethinylestradiol 0.03 mg
i-pill | Piramal | Tablet | levonorgestrel 1.5 mg
Unwanted 72 | Mankind | Tablet | levonorgestrel 1.5 mg
Fertyl 50 | | Tablet | clomifene 50 mg
Siphene 50 | Serum Institute | Tablet | clomifene 50 mg
Cytolog 200 | Zydus | Tablet | misoprostol 200 mcg
"""

_STRENGTH_RE = re.compile(
    r"^(?P<inn>.+?)\s+(?P<strength>\d[\d.,]*\s*(?:(?:mg|mcg|g|IU|mL|billion spores|tablet|capsule)\b|%).*)$"
)


def _forms(text: str) -> list[dict[str, Any]]:
    forms = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        form, _, strengths = part.partition(":")
        forms.append({"form": form.strip(), "strengths": [s.strip() for s in strengths.split(",") if s.strip()]})
    return forms


def _component(text: str, known: set[str]) -> dict[str, str]:
    match = _STRENGTH_RE.match(text.strip())
    if not match:
        raise SystemExit(f"Cannot read the component {text!r}: write 'inn strength', e.g. 'paracetamol 500 mg'")
    inn = match["inn"].strip()
    if inn not in known:
        raise SystemExit(f"Unknown molecule {inn!r} in {text!r}: add it to MOLECULES first")
    return {"inn": inn, "strength": match["strength"].strip()}


def build() -> dict[str, Any]:
    molecules = []
    seen: set[str] = set()
    for inn, atc, klass, allergy, forms, nlem, synonyms in MOLECULES:
        if inn in seen:
            raise SystemExit(f"Molecule {inn!r} is listed twice")
        seen.add(inn)
        classes = allergy.split()
        unknown = [c for c in classes if c not in ALLERGY_CLASSES]
        if unknown:
            raise SystemExit(f"{inn}: unknown allergy classes {unknown}")
        entry: dict[str, Any] = {
            "inn": inn,
            "atc": atc,
            "class": klass,
            "allergy_classes": classes,
            "forms": _forms(forms),
            "synonyms": [s.strip() for s in synonyms.split(",") if s.strip()],
            "nlem": nlem,
            "hsn": "3004",
            "gst_rate": 5,
            "source": f"ATC: {SRC_ATC}; NLEM: {SRC_NLEM}; HSN/GST: {SRC_GST}",
            "verified": f"m:{inn}" in VERIFIED,
        }
        if inn in PAED:
            entry["paediatric_dose"] = {**PAED[inn], "source": SRC_PAED, "verified": f"p:{inn}" in VERIFIED}
        molecules.append(entry)
    combinations = [
        {
            "name": name,
            "components": [_component(f"{inn} {strength}", seen) for inn, strength in parts],
            "form": form,
            "nlem": nlem,
            "hsn": "3004",
            "gst_rate": 5,
            "source": f"NLEM: {SRC_NLEM}; HSN/GST: {SRC_GST}",
            "verified": False,
        }
        for name, parts, form, nlem in COMBINATIONS
    ]
    brands = []
    names: set[str] = set()
    for line in filter(None, (raw.strip() for raw in BRANDS.splitlines())):
        fields = [f.strip() for f in line.split("|")]
        if len(fields) != 4:
            raise SystemExit(f"Brand line needs 4 fields separated by |: {line!r}")
        name, maker, form, composition = fields
        if name.lower() in names:
            raise SystemExit(f"Brand {name!r} is listed twice")
        names.add(name.lower())
        brands.append(
            {
                "name": name,
                "maker": maker,
                "form": form,
                "components": [_component(part, seen) for part in composition.split(" + ")],
                "hsn": "3004",
                "gst_rate": 5,
                "source": f"{SRC_BRAND}; HSN/GST: {SRC_GST}",
                "verified": f"b:{name}" in VERIFIED,
            }
        )
    return {
        "about": (
            "DocOS reference formulary for Indian primary care: generic molecules (INN) with WHO ATC code, class, "
            "allergy classes, forms and strengths, standard paediatric doses, NLEM 2022 membership, HSN and GST rate; "
            "generic combinations; common Indian brands mapped to them. Facts typed in from the named public sources, "
            "no copied database. Entries with verified=false have not been checked against their source yet and are "
            "shown as unverified. Built by scripts/build_formulary.py."
        ),
        "version": 1,
        "gst_note": "GST on most medicines (HSN 3004) is 5% from 22 Sep 2025 (earlier 12%).",
        "allergy_classes": ALLERGY_CLASSES,
        "molecules": molecules,
        "combinations": combinations,
        "brands": brands,
    }


def main() -> None:
    data = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    counts = {key: len(data[key]) for key in ("molecules", "combinations", "brands")}
    print(f"wrote {OUT}: {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
