"""Seed data: a realistic catalog and the admin account. Seeding is idempotent.

Products are inserted by SKU with ``ON CONFLICT DO NOTHING``, so a re-run never duplicates them nor resets
stock that orders have since used. The admin (``SHOP_ADMIN_EMAIL`` / ``SHOP_ADMIN_PASSWORD``) is created,
or promoted and given that password if it already exists.
"""

from __future__ import annotations

import logging

from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import statements
from shared.db.models import Product, User
from shared.domain import emails
from shared.domain.security import hash_password, verify_password

log = logging.getLogger("shop.seed")

# (sku, name, description, price_cents, stock)
CATALOG: list[tuple[str, str, str, int, int]] = [
    (
        "COF-BEAN-ETH-250",
        "Ethiopia Yirgacheffe Beans 250 g",
        "Washed light roast; bergamot, lemon and jasmine.",
        1450,
        120,
    ),
    (
        "COF-BEAN-COL-250",
        "Colombia Huila Beans 250 g",
        "Medium roast; caramel, red apple and cocoa.",
        1295,
        140,
    ),
    (
        "COF-BEAN-BRA-1K",
        "Brazil Cerrado Beans 1 kg",
        "Espresso roast; hazelnut, milk chocolate, low acidity.",
        3200,
        60,
    ),
    (
        "COF-GRND-BURR-01",
        "Conical Burr Grinder",
        "40 mm steel burrs, 31 grind settings, 250 g hopper.",
        12900,
        25,
    ),
    (
        "COF-KETL-GOOSE-1",
        "Gooseneck Kettle 1 l",
        "Temperature control from 40 to 100 °C, keep-warm for 60 minutes.",
        8900,
        30,
    ),
    (
        "COF-DRIP-V60-02",
        "Ceramic Pour-Over Dripper",
        "Size 02 cone with spiral ribs; brews 1 to 4 cups.",
        2400,
        80,
    ),
    ("COF-FILT-V60-100", "Paper Filters, 100 pack", "Unbleached size 02 cone filters.", 650, 300),
    (
        "COF-PRES-FR-800",
        "French Press 800 ml",
        "Borosilicate glass carafe, stainless double mesh filter.",
        3400,
        45,
    ),
    (
        "COF-SCAL-01",
        "Coffee Scale with Timer",
        "0.1 g resolution up to 2 kg; auto-tare, USB-C charging.",
        4500,
        50,
    ),
    (
        "COF-MUG-ENM-350",
        "Enamel Camp Mug 350 ml",
        "Speckled blue enamel on steel; dishwasher safe.",
        1800,
        150,
    ),
    (
        "KIT-KNIF-CHEF-20",
        "Chef's Knife 20 cm",
        "Forged high-carbon stainless blade, full tang, pakkawood handle.",
        8900,
        35,
    ),
    ("KIT-BRD-OAK-40", "Oak Cutting Board 40 x 28 cm", "End-grain oak with juice groove; oiled.", 6500, 20),
    ("KIT-PAN-CI-26", "Cast Iron Skillet 26 cm", "Pre-seasoned; oven safe; works on induction.", 4200, 40),
    (
        "KIT-POT-DUT-5L",
        "Enamelled Dutch Oven 5 l",
        "Cast iron with cream enamel interior; lid with self-basting studs.",
        14900,
        15,
    ),
    ("KIT-SHT-LIN-4", "Linen Tea Towels, set of 4", "Stonewashed linen, 50 x 70 cm, hanging loop.", 3200, 70),
    ("KIT-JAR-GLS-6", "Glass Storage Jars, set of 6", "Airtight bamboo lids; 0.5 l to 1.5 l.", 3900, 55),
    (
        "KIT-THRM-PROBE",
        "Instant-Read Thermometer",
        "Reads in 2 seconds, -50 to 300 °C, IP65 splash resistant.",
        2900,
        65,
    ),
    (
        "KIT-SPAT-SIL-3",
        "Silicone Spatulas, set of 3",
        "Heat resistant to 260 °C, one-piece construction.",
        1600,
        90,
    ),
    (
        "OUT-TENT-2P-UL",
        "Ultralight Tent, 2 person",
        "1.3 kg freestanding dome, 3-season, 2 doors, 2 vestibules.",
        34900,
        12,
    ),
    (
        "OUT-BAG-DWN-0C",
        "Down Sleeping Bag 0 °C",
        "650-fill responsibly sourced down, 900 g, compression sack.",
        22900,
        18,
    ),
    (
        "OUT-PAD-INF-R4",
        "Insulated Sleeping Pad R4.2",
        "Inflatable, 7 cm thick, 480 g, with pump sack.",
        14900,
        22,
    ),
    ("OUT-STOV-CAN-01", "Canister Stove", "Boils 1 l in 3.5 minutes; piezo ignition; 83 g.", 5900, 40),
    ("OUT-LAMP-HEAD-400", "Headlamp 400 lm", "Rechargeable, red night mode, IPX4.", 3900, 75),
    (
        "OUT-BOTL-STL-750",
        "Insulated Bottle 750 ml",
        "Double-wall stainless steel; cold 24 h, hot 12 h.",
        3200,
        110,
    ),
    ("OUT-PACK-DAY-28", "Daypack 28 l", "Ventilated back panel, hip belt pockets, rain cover.", 11900, 26),
    (
        "OUT-POLE-TRK-CF",
        "Carbon Trekking Poles, pair",
        "Three-section, flick locks, cork grips, 420 g the pair.",
        13900,
        16,
    ),
    (
        "OFF-DESK-LAMP-LED",
        "LED Desk Lamp",
        "Dimmable, adjustable colour temperature 2700-6500 K, USB-C port.",
        5900,
        45,
    ),
    (
        "OFF-CHAIR-ERG-01",
        "Ergonomic Office Chair",
        "Adjustable lumbar support, 4D armrests, mesh back.",
        42900,
        8,
    ),
    ("OFF-NOTE-DOT-A5", "Dotted Notebook A5", "192 pages of 100 g/m2 paper, lay-flat binding.", 1900, 200),
    ("OFF-PEN-FNT-M", "Fountain Pen, medium nib", "Steel nib, piston filler, demonstrator body.", 4900, 40),
    (
        "OFF-INK-BLU-50",
        "Blue-Black Ink 50 ml",
        "Water-resistant iron-gall-free formula for fountain pens.",
        1400,
        85,
    ),
    (
        "OFF-STND-LAP-AL",
        "Aluminium Laptop Stand",
        "Raises screens 15 cm, fits 11 to 17 inch laptops.",
        4400,
        60,
    ),
    ("OFF-MAT-DSK-90", "Felt Desk Mat 90 x 40 cm", "Merino wool felt, non-slip cork underside.", 3600, 50),
    (
        "OFF-KEYB-MECH-TKL",
        "Mechanical Keyboard TKL",
        "Tenkeyless, hot-swappable switches, PBT keycaps.",
        11900,
        24,
    ),
    (
        "BKS-PY-ARCH",
        "Architecture Patterns with Python",
        "Percival and Gregory; TDD, DDD and event-driven microservices.",
        4599,
        30,
    ),
    (
        "BKS-DDIA-2E",
        "Designing Data-Intensive Applications",
        "Kleppmann; the big ideas behind reliable, scalable systems.",
        5499,
        28,
    ),
    (
        "BKS-PG-INTERN",
        "PostgreSQL Internals",
        "How PostgreSQL stores, locks and plans; MVCC explained.",
        3999,
        20,
    ),
    (
        "BKS-HTTP-DEF",
        "HTTP: The Definitive Guide",
        "Gourley and Totty; the protocol the web runs on.",
        4299,
        14,
    ),
    ("HOM-BLKT-WOOL-Q", "Wool Blanket, queen", "Lambswool herringbone, 230 x 240 cm.", 18900, 10),
    ("HOM-CNDL-SOY-200", "Soy Candle 200 g", "Cedar and fig; cotton wick, 45 hours burn time.", 2400, 95),
    ("HOM-PLNT-POT-15", "Terracotta Planter 15 cm", "Unglazed with drainage hole and saucer.", 1500, 120),
    ("HOM-TOWL-BTH-2", "Organic Bath Towels, pair", "600 g/m2 organic cotton terry, 70 x 140 cm.", 4800, 45),
    (
        "HOM-SCRN-DIFF-01",
        "Ultrasonic Aroma Diffuser",
        "300 ml tank, 8 hour run time, auto shut-off.",
        3500,
        38,
    ),
    ("HOM-CLCK-WALL-30", "Wall Clock 30 cm", "Silent sweep movement, oak frame.", 4200, 27),
]


def seed(settings: Settings) -> None:
    """Seed catalog and admin in one transaction. Raises SystemExit if admin credentials are missing."""
    if not (settings.admin_email and settings.admin_password):
        raise SystemExit("seed: set SHOP_ADMIN_EMAIL and SHOP_ADMIN_PASSWORD for the admin account")
    engine = create_engine(settings.url_for_driver("psycopg"), hide_parameters=True)  # the admin's hash
    try:
        with Session(engine) as session, session.begin():
            inserted = seed_catalog(session)
            admin = seed_admin(session, email=settings.admin_email, password=settings.admin_password)
        log.info("seed: %d products inserted; admin %s", inserted, admin)
    finally:
        engine.dispose()


def seed_catalog(session: Session) -> int:
    """Insert the catalog products whose SKU is not there yet; returns how many were inserted."""
    rows = [
        {"sku": sku, "name": name, "description": description, "price_cents": price, "stock": stock}
        for sku, name, description, price, stock in CATALOG
    ]
    result = session.execute(
        insert(Product)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[Product.sku])
        .returning(Product.id)
    )
    return len(result.all())


def seed_admin(session: Session, *, email: str, password: str) -> str:
    """Create the admin user, or make an existing one admin with this password. Returns what it did."""
    user = session.scalar(statements.user_by_email(email))
    if user is None:
        address = emails.normalize(email)  # SHOP_ADMIN_EMAIL passes the API's rules, or the seed stops
        session.add(
            User(
                email=address,
                email_key=emails.account_key(address),
                full_name="Shop Admin",
                password_hash=hash_password(password),
                is_admin=True,
            )
        )
        return "created"
    changed = not user.is_admin or not verify_password(user.password_hash, password)
    if changed:
        user.is_admin = True
        user.password_hash = hash_password(password)
    return "updated" if changed else "unchanged"
