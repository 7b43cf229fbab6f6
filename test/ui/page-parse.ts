/** Reading the web UI's HTML in tests: entities decoded, a table's cells by id, the charts' Vega-Lite specs. */

export const unescape = (s: string): string => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The Vega-Lite specs of a page's charts. */
export const specs = (page: string): Record<string, unknown>[] => [...page.matchAll(/data-spec="([^"]*)"/g)].map((m) => JSON.parse(unescape(m[1]!)) as Record<string, unknown>);

/** The cells of a table by its id, row by row (tags stripped, entities decoded). */
export function cells(page: string, id: string): string[][] {
  const t = new RegExp(`<table id="${id}">([\\s\\S]*?)</table>`).exec(page);
  if (!t) throw new Error(`no table #${id}`);
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(t[1]!)![1]!;
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) => [...r[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => unescape(c[1]!.replace(/<[^>]+>/g, ''))));
}
