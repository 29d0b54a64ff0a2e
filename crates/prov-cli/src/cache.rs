//! The on-disk catalogue cache (regions, plans, images per provider and base URL, with a TTL).
