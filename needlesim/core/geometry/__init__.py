"""Triangle soups, ray casting, exact distances, clearances and offset surfaces."""
