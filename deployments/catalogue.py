"""The hardware catalogue every installation starts with: common GPUs and a CPU server at typical public on-demand
prices per device-hour (meant to be edited to the client's contract). Memory is what one device reports as usable, in
GiB, as nvidia-smi shows it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CATALOGUE = [
    # name, memory GiB, USD per device-hour, is_cpu, note
    ("A10G 24 GB", "22.5", "1.006", False, "AWS g5.xlarge on-demand"),
    ("L4 24 GB", "22.5", "0.805", False, "AWS g6.xlarge on-demand"),
    ("L40S 48 GB", "45.0", "1.861", False, "AWS g6e.xlarge on-demand"),
    ("A100 40 GB", "40.0", "3.673", False, "Google Cloud a2-highgpu-1g on-demand"),
    ("A100 80 GB", "80.0", "5.068", False, "Google Cloud a2-ultragpu-1g on-demand"),
    ("H100 80 GB", "79.6", "6.880", False, "AWS p5.48xlarge on-demand, per GPU"),
    ("H200 141 GB", "140.4", "7.913", False, "AWS p5en.48xlarge on-demand, per GPU"),
    ("CPU", "16.0", "0.202", True, "4 vCPU, 16 GiB server (AWS m7i.xlarge on-demand); the local model server"),
]


def catalogue_seed(hardware_model: Any) -> None:
    """Add the catalogue's types that are missing; never touch a price someone has edited."""
    for name, memory, price, is_cpu, note in CATALOGUE:
        hardware_model.objects.get_or_create(
            name=name,
            defaults={
                "memory_gib": Decimal(memory),
                "hourly_price_usd": Decimal(price),
                "is_cpu": is_cpu,
                "note": note,
            },
        )
