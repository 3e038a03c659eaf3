"""The switch: HTTP edge, router, participant registry, delivery and journal."""
