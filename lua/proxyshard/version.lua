--- The library version (also in the User-Agent).
return "0.1.0"
