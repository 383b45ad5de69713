"""The reporting read model: every billing topic projected into per-claim facts, KPIs computed from them."""
