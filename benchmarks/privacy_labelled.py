"""A small labelled set for the redaction detector: English and French sentences with their values marked.

Written by hand for issue 22 while the detector was built, so its figures are in-sample. `[[KIND:value]]` marks a
value that must be replaced; everything else must be left alone. Half the sentences hold lookalikes that are not
personal data (amounts, dates, years, reference numbers, product names, table rows).
"""

from __future__ import annotations

import re

SENTENCES = [
    # English: contact details and identifiers
    "Please email [[EMAIL:maria.gonzalez@acme-corp.com]] before Friday.",
    "Call me on [[PHONE:(212) 555-0147]] or at the office, [[PHONE:+44 20 7946 0958]].",
    "Her SSN is [[SSN:536-22-8145]] and her employee ID is 448812.",
    "Charge the card [[CARD:4012 8888 8888 1881]], expiry 09/27, CVC withheld.",
    "Wire the deposit to [[IBAN:DE89 3704 0044 0532 0130 00]] by the 15th.",
    "Dear [[PERSON:Robert Chen]],\nthank you for your order #A-20931.",
    "Account holder: [[PERSON:Linda Okafor]]",
    "Shipping to [[ADDRESS:1600 Pennsylvania Ave NW, Washington, DC 20500]] next week.",
    "Our office moved to [[ADDRESS:350 Fifth Avenue]] in 2021.",
    "Dr. [[PERSON:Ahmed Karimi]] reviewed the scan on March 3.",
    "Reach support at [[EMAIL:help@service.example.org]] or 1-800 numbers listed online.",
    "The customer, Mrs. [[PERSON:Grace O'Neil]], disputes invoice 2023-117.",
    # English: secrets
    "export AWS_ACCESS_KEY_ID=[[SECRET:AKIAJ7XQ2LMN4OPR5STU]]",
    "db_password: [[PASSWORD:c0rrect-h0rse-batt3ry]]",
    "url = \"postgres://report:[[PASSWORD:Xy9#kLm2Pq]]@10.1.2.3:5432/sales\"",
    "token: [[SECRET:ghp_4Kd9fLm2Qx8Rt5Vw1Yz7Bc3Nh6Jp0Ls2Ag9E]]",
    "Set GROQ_API_KEY=[[SECRET:gsk_8fJ2kLmN4pQrS6tUvW8xYz0aBcDeFgHi1234]] in .env",
    "[[PRIVATE_KEY:-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----]]",
    # French
    "Mon numéro : [[PHONE:06 12 34 56 78]], le fixe [[PHONE:01 42 68 53 00]].",
    "Virement sur le compte [[IBAN:FR14 2004 1010 0505 0001 3M02 606]] avant lundi.",
    "Numéro de sécurité sociale : [[NIR:2 84 12 75 115 423 69]].",
    "Madame [[PERSON:Sophie Lefèvre]] habite [[ADDRESS:8 rue des Lilas, 69003 Lyon]].",
    "Nom : [[PERSON:Jean-Pierre Dubois]]",
    "Écrivez à [[EMAIL:contact@mairie-exemple.fr]] pour le dossier.",
    "Bonjour [[PERSON:Camille Bernard]],\nvotre colis arrive demain.",
    "Le siège est au [[ADDRESS:45 avenue de la République, 75011 Paris]].",
    # Names and addresses without a cue (title, salutation, field, street word): the patterns miss these
    "[[PERSON:Sarah Johnson]] called about the refund.",
    "Hier, [[PERSON:Pierre Durand]] a signé le bail.",
    "Deliver to [[ADDRESS:Hauptstraße 5, 10117 Berlin]] please.",
    # Lookalikes that must stay
    "Net sales were $177,866 million in 2017, up 31% from $135,987 million.",
    "Operating income (loss) 2019 2018 2017\n(1,234) (967) (383)\n2,045 1,876 1,512",
    "Part number 4402-1187-3390 ships in 3 to 5 business days.",
    "The meeting is on 2024-03-15 at 10:30 in room 4B.",
    "Version 3.11.7 fixed issue #20931 in the tokenizer.",
    "Reference: INV-2023-000117, order 8812-4471.",
    "ISBN 978-0-306-40615-7 is the second edition.",
    "Chiffre d'affaires 2022 : 12 345 678 € (+4,2 %).",
    "The President spoke on Monday about the economy.",
    "Route 66 and Main Street are both in the story.",
    "Interest rates rose by 25 basis points to 5.25% in July.",
    "Use the password reset link; never share your password.",
    "See note 12 on page 48 and Item 7A, Quantitative Disclosures.",
    "Call option premiums of 1 250 000 were paid in 2021.",
    "Numéro INSEE invalide (mauvaise clé) : 2 84 12 75 115 423 55.",
    "Card 4111 1111 1111 1112 fails the Luhn check.",
]

_MARK = re.compile(r"\[\[([A-Z_]+):(.*?)\]\]", re.DOTALL)


def parse(sentence: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The plain sentence and its labelled spans (start, end, kind)."""
    text, spans, at, out = sentence, [], 0, []
    for m in _MARK.finditer(text):
        out.append(text[at : m.start()])
        start = sum(len(p) for p in out)
        out.append(m.group(2))
        spans.append((start, start + len(m.group(2)), m.group(1)))
        at = m.end()
    out.append(text[at:])
    return "".join(out), spans
