import t from 'tap';
import { escapeHtml, html, trustedMarkup } from './html.js';

t.test('interpolated values are escaped, fragments and trusted markup are not', async (t) => {
  const evil = `<script>alert("x")</script>' onmouseover='x`;
  t.equal(escapeHtml(evil), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x');
  const page = html`<p title="${evil}">${evil}</p>${html`<b>${1}</b>`}${trustedMarkup('<svg></svg>')}`;
  t.notOk(page.value.includes('<script>'), 'no raw script tag');
  t.notOk(page.value.includes(`' onmouseover`), 'no attribute break-out');
  t.match(page.value, /<b>1<\/b><svg><\/svg>$/);
  t.equal(html`${[html`<li>a</li>`, '<li>', null, undefined, false, 0]}`.value, '<li>a</li>&lt;li&gt;0');
});
