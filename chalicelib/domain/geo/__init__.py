"""Geography: geohash keys, the covering of areas by cells and the Queries planned on it, the
action areas (circles, polygons, corridors) and their GeoJSON."""
