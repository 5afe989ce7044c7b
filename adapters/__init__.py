"""Thin translators between platforms and the neutral vocabulary. No program logic here."""
