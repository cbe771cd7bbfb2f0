"""The FDE workspace's engagement pages; client users get 404 everywhere here (provider_required)."""
