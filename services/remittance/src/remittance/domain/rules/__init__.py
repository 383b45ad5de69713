"""Business rules shipped as data (YAML); read by adapters, parsed by the pure loaders in the domain."""
