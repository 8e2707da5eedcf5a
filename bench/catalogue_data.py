"""A grocer's and hardware shop's catalogue of any size, for benchmarks: realistic names, brands,
sizes, prices, stock and popularity in about 300 categories, the same for the same seed.

    .venv/bin/python bench/catalogue_data.py --products 50000 --seed 1 --output /tmp/catalogue.json
    .venv/bin/python manage.py seed_products --file /tmp/catalogue.json [--update]

The output is a `seed_products` file, so it loads through the shop's own import path: every row
validated, products written in bulk by `catalogue.services.catalogue_import`, stock set through
`inventory.services.stock_set_on_hand_many` with its ledger. Pictures are files referenced by
the rows: one drawn per department (`pictures/<department>.jpg` beside the output file, 15 in
all), which the import stores once each with its renditions, so 50,000 products share 15
pictures instead of 50,000 being drawn. Written to standard output, the rows name no picture.
"""

import argparse
import json
import random
import re
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PICTURES = "pictures"  # the folder beside the seed file holding the pictures its rows name

# Department: (SKU prefix, price range, sizes, product types). Each type is a category under
# its department, and has an "Organic" (or "Premium") sub-category: 15 + 150 + 150 = 315.
DEPARTMENTS = {
    "Fruit & Vegetables": (
        "FRU",
        (0.4, 6),
        ["500 g", "1 kg", "2 kg", "each", "bunch", "250 g"],
        [
            "Apples",
            "Pears",
            "Citrus",
            "Berries",
            "Bananas",
            "Potatoes",
            "Onions",
            "Salad",
            "Tomatoes",
            "Root Vegetables",
        ],
    ),
    "Bakery": (
        "BAK",
        (0.8, 9),
        ["400 g", "800 g", "pack of 4", "pack of 6", "each"],
        [
            "Bread",
            "Rolls",
            "Wraps",
            "Croissants",
            "Cakes",
            "Biscuits",
            "Crackers",
            "Muffins",
            "Bagels",
            "Pastries",
        ],
    ),
    "Dairy & Eggs": (
        "DAI",
        (0.6, 12),
        ["250 ml", "500 ml", "1 l", "200 g", "6 eggs", "12 eggs", "400 g"],
        [
            "Milk",
            "Butter",
            "Cheese",
            "Yoghurt",
            "Cream",
            "Eggs",
            "Quark",
            "Plant Milk",
            "Desserts",
            "Kefir",
        ],
    ),
    "Meat & Fish": (
        "MEA",
        (2, 35),
        ["200 g", "400 g", "500 g", "1 kg", "2 fillets"],
        [
            "Chicken",
            "Beef",
            "Pork",
            "Lamb",
            "Sausages",
            "Ham",
            "Salmon",
            "White Fish",
            "Prawns",
            "Smoked Fish",
        ],
    ),
    "Pantry": (
        "PAN",
        (0.5, 15),
        ["250 g", "500 g", "1 kg", "400 g tin", "500 ml", "750 ml"],
        [
            "Pasta",
            "Rice",
            "Flour",
            "Sugar",
            "Olive Oil",
            "Vinegar",
            "Spices",
            "Sauces",
            "Canned Tomatoes",
            "Beans",
        ],
    ),
    "Drinks": (
        "DRI",
        (0.6, 30),
        ["330 ml", "500 ml", "1 l", "1.5 l", "6 x 330 ml", "750 ml", "250 g"],
        [
            "Coffee",
            "Tea",
            "Juice",
            "Lemonade",
            "Mineral Water",
            "Beer",
            "Wine",
            "Cider",
            "Hot Chocolate",
            "Smoothies",
        ],
    ),
    "Frozen": (
        "FRO",
        (1, 14),
        ["400 g", "750 g", "1 kg", "pack of 2", "500 ml"],
        [
            "Pizza",
            "Ice Cream",
            "Frozen Vegetables",
            "Frozen Berries",
            "Fish Fingers",
            "Chips",
            "Ready Meals",
            "Dumplings",
            "Frozen Bread",
            "Sorbet",
        ],
    ),
    "Snacks & Sweets": (
        "SNA",
        (0.5, 10),
        ["40 g", "100 g", "150 g", "200 g", "multipack"],
        [
            "Chocolate",
            "Crisps",
            "Nuts",
            "Sweets",
            "Popcorn",
            "Cereal Bars",
            "Dried Fruit",
            "Pretzels",
            "Liquorice",
            "Honey",
        ],
    ),
    "Household": (
        "HOU",
        (0.9, 25),
        ["500 ml", "1 l", "pack of 10", "pack of 24", "2 kg", "each"],
        [
            "Washing Powder",
            "Dish Soap",
            "Bin Bags",
            "Kitchen Roll",
            "Toilet Paper",
            "Sponges",
            "Surface Cleaner",
            "Candles",
            "Light Bulbs",
            "Batteries",
        ],
    ),
    "Personal Care": (
        "PER",
        (0.9, 20),
        ["50 ml", "100 ml", "250 ml", "400 ml", "pack of 5"],
        [
            "Shampoo",
            "Soap",
            "Toothpaste",
            "Deodorant",
            "Hand Cream",
            "Sun Cream",
            "Razors",
            "Plasters",
            "Tissues",
            "Lip Balm",
        ],
    ),
    "Baby": (
        "BAB",
        (1, 30),
        ["pack of 30", "pack of 60", "200 g", "500 ml", "each"],
        [
            "Nappies",
            "Baby Wipes",
            "Baby Food",
            "Formula",
            "Baby Bottles",
            "Dummies",
            "Baby Shampoo",
            "Bibs",
            "Teething Toys",
            "Baby Cream",
        ],
    ),
    "Pets": (
        "PET",
        (0.8, 45),
        ["85 g", "400 g", "2 kg", "10 kg", "each"],
        [
            "Dog Food",
            "Cat Food",
            "Cat Litter",
            "Dog Treats",
            "Bird Seed",
            "Fish Food",
            "Pet Toys",
            "Leads",
            "Pet Beds",
            "Flea Treatment",
        ],
    ),
    "Garden": (
        "GAR",
        (1.5, 90),
        ["each", "40 l", "10 l", "pack of 6", "1 kg", "25 m"],
        [
            "Compost",
            "Seeds",
            "Bulbs",
            "Plant Pots",
            "Hoses",
            "Trowels",
            "Gloves",
            "Fertiliser",
            "Bird Feeders",
            "Secateurs",
        ],
    ),
    "Tools & Hardware": (
        "HAR",
        (0.8, 150),
        ["each", "pack of 100", "pack of 50", "5 m", "set of 6", "1 l"],
        [
            "Screws",
            "Nails",
            "Hammers",
            "Screwdrivers",
            "Drill Bits",
            "Tape Measures",
            "Paint",
            "Brushes",
            "Glue",
            "Hooks",
        ],
    ),
    "Kitchen": (
        "KIT",
        (1, 80),
        ["each", "set of 3", "pack of 20", "24 cm", "28 cm"],
        [
            "Pans",
            "Knives",
            "Chopping Boards",
            "Mugs",
            "Glasses",
            "Foil",
            "Baking Paper",
            "Food Boxes",
            "Tea Towels",
            "Utensils",
        ],
    ),
}
NON_FOOD = {"HOU", "PER", "GAR", "HAR", "KIT"}
BRANDS = [
    "Alder & Finch",
    "Bramblewood",
    "Copper Kettle",
    "Dale Farm",
    "Eastbrook",
    "Fernhill",
    "Greenacre",
    "Harbour Lane",
    "Ivy House",
    "Juniper",
    "Kingsmead",
    "Larkrise",
    "Meadowsweet",
    "Northfield",
    "Oakhurst",
    "Pennywhistle",
    "Quayside",
    "Riverbend",
    "Stonebridge",
    "Thistle",
    "Upland",
    "Valley Gold",
    "Westcombe",
    "Yewtree",
    "Ashgrove",
    "Birchwood",
    "Clearwater",
    "Dovecote",
    "Elmstead",
    "Foxglove",
    "Hartwell",
    "Kestrel",
    "Longmeadow",
    "Millbrook",
    "Nettlebed",
    "Orchard Gate",
    "Primrose",
    "Redcliff",
    "Saltmarsh",
    "Tidewater",
    "Wildmoor",
    "Home Essentials",
    "ToolCraft",
    "Shopkeeper's Choice",
    "Little Acorn",
    "Hearth & Home",
]
QUALITIES = [
    "Classic",
    "Organic",
    "Free Range",
    "Wholegrain",
    "Extra Mature",
    "Smoked",
    "Lightly Salted",
    "Unsweetened",
    "Family",
    "Heavy Duty",
    "Eco",
    "Fairtrade",
    "Gluten Free",
    "Rustic",
    "Traditional",
    "Everyday",
    "Deluxe",
    "Mini",
    "Large",
    "Farmhouse",
    "Spiced",
    "Mild",
    "Strong",
]
MATERIALS = [
    "Steel",
    "Oak",
    "Bamboo",
    "Recycled",
    "Black",
    "White",
    "Green",
    "Blue",
    "Stainless",
    "Ceramic",
    "Cotton",
    "Rubber",
    "Lavender",
    "Citrus",
    "Unscented",
    "Compact",
    "Cordless",
]
FLAVOURS = [
    "Lemon",
    "Garlic",
    "Honey",
    "Vanilla",
    "Mint",
    "Chilli",
    "Sea Salt",
    "Oat",
    "Cherry",
    "Lavender",
    "Rosemary",
    "Ginger",
    "Apple",
    "Blackcurrant",
    "Cocoa",
    "Hazelnut",
    "Tomato",
    "Basil",
    "Cinnamon",
    "Pepper",
    "Citrus",
    "Coconut",
    "Plain",
    "Original",
]
CLAIMS = [
    "Made by a family business",
    "Sourced within 100 miles",
    "A customer favourite",
    "Restocked every week",
    "Good value for everyday use",
    "Recommended by our staff",
    "Plastic-free packaging",
    "Keeps well in a cool, dry place",
    "Suitable for vegetarians",
    "Built to last",
    "Guaranteed for two years",
    "Popular with local restaurants",
]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def generate(*, products: int, seed: int, pictures: bool = True) -> dict:
    """The seed document: categories and `products` products, the same for the same seed; with
    `pictures`, each row names its department's picture (`pictures_write` draws them)."""
    rng = random.Random(seed)
    categories, leaves = [], []
    for department, (prefix, price_range, sizes, kinds) in DEPARTMENTS.items():
        department_slug = slug(department)
        categories.append({"slug": department_slug, "name": department})
        for kind in kinds:
            kind_slug = f"{department_slug}-{slug(kind)}"
            categories.append({"slug": kind_slug, "name": kind, "parent": department_slug})
            leaves.append((prefix, price_range, sizes, kind, kind_slug, department_slug))
            grade = "Premium" if prefix in NON_FOOD else "Organic"
            grade_slug = f"{kind_slug}-{slug(grade)}"
            categories.append({"slug": grade_slug, "name": f"{grade} {kind}", "parent": kind_slug})
            leaves.append(
                (prefix, price_range, sizes, f"{grade} {kind}", grade_slug, department_slug)
            )
    rows = []
    for number in range(1, products + 1):
        prefix, (low, high), sizes, kind, category, department_slug = rng.choice(leaves)
        brand = rng.choice(BRANDS)
        variant = rng.choice(MATERIALS if prefix in NON_FOOD else FLAVOURS)
        name = f"{brand} {rng.choice(QUALITIES)} {variant} {kind}, {rng.choice(sizes)}"
        # Prices cluster low, as a shop's do: log-uniform between the department's bounds.
        price = Decimal(str(round(low * (high / low) ** rng.random(), 2))).quantize(Decimal("0.01"))
        rows.append(
            {
                "sku": f"{prefix}-{number:06d}",
                "name": name,
                "category": category,
                "price": str(price),
                "description": f"{name}. " + ". ".join(rng.sample(CLAIMS, 2)) + ".",
                # Zipf-like: a few products sell a lot, most rarely.
                "popularity": int(1000 / (1 + rng.paretovariate(1.2))),
                "stock": 0 if rng.random() < 0.05 else rng.randint(1, 250),
            }
        )
        if pictures:
            rows[-1]["image"] = f"{PICTURES}/{department_slug}.jpg"
    return {"categories": categories, "products": rows}


def pictures_write(folder: Path) -> int:
    """Draw each department's picture into `folder`/pictures (the shop's own sample picture
    drawing, `catalogue.images.sample_image`); returns how many."""
    sys.path.insert(0, str(ROOT))
    from catalogue.images import sample_image

    (folder / PICTURES).mkdir(parents=True, exist_ok=True)
    for department, (prefix, *_) in DEPARTMENTS.items():
        picture = sample_image(name=department, sku=prefix, category="YourLocalShop")
        (folder / PICTURES / f"{slug(department)}.jpg").write_bytes(picture.read())
    return len(DEPARTMENTS)


def seed_generated_catalogue(services, *, products: int, seed: int = 1) -> float:
    """Load a generated catalogue through `seed_products` into the services' database; returns
    the seconds the load took (printed too)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalogue.json"
        path.write_text(json.dumps(generate(products=products, seed=seed)), encoding="utf-8")
        pictures_write(Path(folder))
        started = time.monotonic()
        # --update: the benchmarks load it beside the sample catalogue (new products get stock).
        services.manage("seed_products", "--file", str(path), "--update")
        seconds = time.monotonic() - started
    print(f"loaded {products:,} generated products in {seconds:.1f} s", flush=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, help="file to write (default: standard output)")
    options = parser.parse_args()
    started = time.monotonic()
    document = generate(
        products=options.products, seed=options.seed, pictures=options.output is not None
    )
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    if options.output is None:
        sys.stdout.write(text)
        return
    options.output.write_text(text, encoding="utf-8")
    pictures_write(options.output.parent)
    print(
        f"{len(document['products']):,} products in {len(document['categories'])} categories "
        f"written to {options.output} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
