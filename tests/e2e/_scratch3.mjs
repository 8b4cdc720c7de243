import { startServer, launchBrowser, openApp } from './harness.js';
const server = await startServer();
const browser = await launchBrowser();
const { page, problems } = await openApp(browser.context, server.url);
const frames = (n=2) => page.evaluate((n) => new Promise((r) => { const f = (k) => k ? requestAnimationFrame(() => f(k-1)) : r(); f(n); }), n);
const grey = (tid) => page.evaluate((tid) => { const c = document.querySelector(`[data-testid=${tid}]`); const d = c.getContext('2d').getImageData(0,0,c.width,c.height).data; const o=[]; for (let i=0;i<d.length;i+=4) o.push(d[i]); return o; }, tid);
const box = await page.locator('[data-testid=latent-grid]').boundingBox();
const g = await grey('latent-grid');
const tile = (tx,ty) => { const t=[]; for(let y=0;y<28;y++)for(let x=0;x<28;x++)t.push(g[(ty*28+y)*560+tx*28+x]); return t; };
for (const [tx,ty] of [[3,4],[15,12],[10,10],[0,19]]) {
  const px = box.x + (tx+0.5)/20*box.width, py = box.y + (ty+0.5)/20*box.height;
  await page.mouse.move(px,py); await frames(2);
  const d = await grey('decoded-canvas');
  const mad = (a,b)=>a.reduce((s,v,i)=>s+Math.abs(v-b[i]),0)/a.length;
  console.log(tx,ty, await page.textContent('#decoded-label'), 'mad own', mad(d,tile(tx,ty)).toFixed(2), 'mad other', mad(d,tile(19-tx,19-ty)).toFixed(2), 'maxdiff', Math.max(...d.map((v,i)=>Math.abs(v-tile(tx,ty)[i]))));
}
await page.mouse.move(0,0);
console.log(await page.evaluate(() => { const c = document.getElementById('map-overlay'); const d = c.getContext('2d').getImageData(0,0,c.width,c.height).data; let n=0; for (let i=3;i<d.length;i+=4) if (d[i]) n++; return [c.width,c.height,n, window.vaeMetrics.scatterCount]; }));
await page.waitForFunction(() => window.vaeMetrics.scatterCount === 10000);
await frames(2);
console.log(await page.evaluate(() => { const c = document.getElementById('map-overlay'); const d = c.getContext('2d').getImageData(0,0,c.width,c.height).data; let n=0; for (let i=3;i<d.length;i+=4) if (d[i]) n++; return [c.width,c.height,n]; }));
await page.fill('[data-testid=grid-size]', '10'); await page.press('[data-testid=grid-size]', 'Enter');
await frames(3);
console.log(await page.evaluate(() => [document.querySelector('[data-testid=latent-grid]').width, document.querySelector('[data-testid=grid-size]').value]));
await page.fill('[data-testid=grid-size]', '20'); await page.press('[data-testid=grid-size]', 'Tab');
await frames(3);
console.log(await page.evaluate(() => [document.querySelector('[data-testid=latent-grid]').width]));
console.log(problems);
await browser.close(); server.close();
