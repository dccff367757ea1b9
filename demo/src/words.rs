//! Word lists for titles and descriptions (a little unicode and `&` on purpose).

pub(crate) const ADJECTIVES: &[&str] = &[
    "Rustic",
    "Modern",
    "Sturdy",
    "Elegant",
    "Compact",
    "Vintage",
    "Deluxe",
    "Handmade",
    "Classic",
    "Ergonomic",
    "Portable",
    "Premium",
    "Minimal",
    "Bold",
    "Cosy",
    "Naïve",
    "Smart",
    "Quiet",
];

pub(crate) const MATERIALS: &[&str] = &[
    "Oak", "Walnut", "Steel", "Ceramic", "Linen", "Bamboo", "Copper", "Glass", "Wool", "Marble",
    "Leather", "Cotton", "Brass", "Crème", "Slate", "Cork",
];

pub(crate) const NOUNS: &[&str] = &[
    "Chair",
    "Lamp",
    "Table",
    "Mug",
    "Kettle",
    "Blanket",
    "Shelf",
    "Vase",
    "Clock",
    "Backpack",
    "Notebook",
    "Teapot",
    "Stool",
    "Mirror",
    "Salt & Pepper Mill",
    "Bowl",
    "Rug",
    "Desk",
    "Café Set",
    "Planter",
];

pub(crate) const CATEGORIES: &[&str] = &[
    "Kitchen",
    "Living Room",
    "Garden",
    "Office",
    "Bedroom",
    "Bath",
    "Outdoor",
    "Lighting",
    "Textiles",
    "Storage",
    "Décor",
    "Travel",
];

pub(crate) const WORDS: &[&str] = &[
    "crafted", "durable", "finish", "design", "everyday", "comfort", "quality", "material",
    "light", "warm", "texture", "detail", "balanced", "natural", "simple", "made", "to", "last",
    "with", "and", "the", "a", "for", "your", "home", "every", "season", "gift", "care", "easy",
    "clean", "tested", "precise", "soft", "strong", "wooden", "metal", "hand", "polished", "small",
    "large", "façade", "naïve", "fiancée", "résumé", "über", "smooth", "classic", "calm", "bright",
];
