-- The shop's orders, and the watermark delta_copy keeps: amount is about
-- 2.5 per unit, the fit the training job finds.
CREATE TABLE orders (
  id int PRIMARY KEY,
  customer text,
  amount numeric(10,2),
  updated_at timestamp NOT NULL,
  quantity int NOT NULL DEFAULT 1
);
CREATE TABLE watermark (table_name text PRIMARY KEY, watermark_value timestamp NOT NULL);
INSERT INTO watermark VALUES ('orders', '2000-01-01 00:00:00');
INSERT INTO orders (id, customer, amount, updated_at, quantity)
SELECT g, 'customer ' || (g % 7), 2.5 * (g % 40) + ((g * 7919) % 10) / 10.0,
       '2026-11-01'::timestamp + g * interval '1 minute', g % 40
FROM generate_series(1, 400) g;
