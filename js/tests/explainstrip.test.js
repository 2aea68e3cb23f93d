import { test } from "node:test";
import assert from "node:assert/strict";
import { stripPage, STRIP_PAGE } from "../explainstrip.js";

test("a strip of STRIP_PAGE queries or fewer is one page", () => {
  assert.deepEqual(stripPage(STRIP_PAGE, 0, 100, undefined), { page: 0, start: 0, end: STRIP_PAGE, pages: 1 });
  assert.deepEqual(stripPage(3, 5, null, null), { page: 0, start: 0, end: 3, pages: 1 });
  assert.deepEqual(stripPage(0, 0, null, undefined), { page: 0, start: 0, end: 0, pages: 1 });
});

test("a new pin shows its own page; a page turned to stays while the pin does", () => {
  const n = 4096, last = Math.ceil(n / STRIP_PAGE) - 1;
  assert.equal(stripPage(n, 0, STRIP_PAGE * 3 + 5, undefined).page, 3); // the first draw with a pin
  assert.equal(stripPage(n, 7, STRIP_PAGE * 3 + 5, STRIP_PAGE * 3 + 5).page, 7); // turned away, same pin
  assert.equal(stripPage(n, 7, STRIP_PAGE - 1, STRIP_PAGE * 3 + 5).page, 0); // a new pin
  assert.equal(stripPage(n, 2, null, 40).page, 2); // released: the page stays
  assert.deepEqual(stripPage(n, last + 4, null, null), { page: last, start: last * STRIP_PAGE, end: n, pages: last + 1 });
  assert.equal(stripPage(n, -1, null, null).page, 0);
});

test("the last page holds what is left; a pin past the tokens (another layer's) keeps the page", () => {
  const n = STRIP_PAGE * 2 + 10;
  assert.deepEqual(stripPage(n, 0, n - 1, null), { page: 2, start: STRIP_PAGE * 2, end: n, pages: 3 });
  assert.equal(stripPage(n, 1, n + 50, null).page, 1);
});
