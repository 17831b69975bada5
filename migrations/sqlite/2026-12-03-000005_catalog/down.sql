DROP TABLE showcase_items;
DROP TABLE catalog_state;
DROP TABLE product_stats;
DROP TABLE skus;
DROP TABLE products;
DROP TABLE suppliers;
