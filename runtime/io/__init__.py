"""Reading and writing relations: CSV files, inputs the workers read in parts, output sets."""
