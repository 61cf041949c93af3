"""Synthetic confidential tables for the records tests and benchmark: a client list
and a price list, made from a seed (nothing real, nothing committed)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Amara", "Elijah", "Sofia", "James", "Isabella", "Lucas", "Mia", "Mateo",
         "Amelia", "Ethan", "Harper", "Aiden", "Evelyn", "Oliver", "Abigail", "Jacob", "Emily", "Daniel", "Ella",
         "Henry", "Scarlett", "Jackson", "Grace", "Samuel", "Chloe", "Leo", "Victoria", "Owen", "Riley", "Wyatt",
         "Aria", "Julian", "Lily", "Levi", "Aurora", "Gabriel"]
LAST = ["Smith", "Johnson", "Okafor", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
        "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
        "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores"]
WORDS = ["North", "Blue", "Iron", "Silver", "Oak", "River", "Summit", "Harbor", "Pine", "Crest", "Falcon", "Granite",
         "Maple", "Cedar", "Atlas", "Beacon"]
KINDS = ["Logistics", "Holdings", "Analytics", "Foods", "Capital", "Dynamics", "Partners", "Systems", "Labs", "Group"]
COUNTRIES = ["United States", "Germany", "France", "United Kingdom", "Spain", "Italy", "Canada", "Japan"]
CLIENT_HEADER = ["Name", "Company", "Email", "Account", "Country", "Annual revenue", "Client since"]

PRODUCTS = ["Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Fjord", "Glacier", "Helix", "Ion", "Juniper"]
TIERS = ["Starter", "Professional", "Enterprise", "Ultimate"]
REGIONS = ["EMEA", "APAC", "AMER"]
PRICE_HEADER = ["SKU", "Product", "Region", "List price", "Discount", "Currency"]


def client_rows(n: int, seed: int = 7) -> list[list[str]]:
    """A client list: names and companies repeat across rows (as real ones do), e-mail
    addresses and account numbers are unique, countries are shared by many rows."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(KINDS)}"
        domain = f"{company.split()[0].lower()}{i % 97}.example"
        rows.append([
            f"{first} {last}", company, f"{first.lower()}.{last.lower()}{i}@{domain}", f"ACC-{100000 + i * 7}",
            rng.choice(COUNTRIES), f"{rng.randint(10_000, 9_000_000):,}.{rng.randint(0, 99):02d}",
            f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        ])
    return rows


def price_rows(seed: int = 3) -> list[list[object]]:
    """A price list of 120 rows: SKU, product, region, price, discount (a fraction), currency."""
    rng = random.Random(seed)
    rows: list[list[object]] = []
    for product in PRODUCTS:
        for tier in TIERS:
            for region in REGIONS:
                sku = f"{product[:3].upper()}-{tier[:2].upper()}-{region}-{rng.randint(100, 999)}"
                rows.append([sku, f"{product} {tier}", region, round(rng.uniform(100, 50_000), 2),
                             rng.choice([0.05, 0.1, 0.15, 0.2]), "USD"])
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]], title: str = "Sheet1") -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path
