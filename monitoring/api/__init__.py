"""The screening partner API: bookings in, a verdict per booking back (mounted at /api/v1/screening/)."""
