"""Icons, colour palette and the demo recording (data only)."""
