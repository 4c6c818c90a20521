// tokenmeter dashboard: plain browser JavaScript, no framework and no network beyond this dashboard's own API.
// Every amount arrives from the server already formatted from exact decimals; numbers here only size shapes.
(() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const body = document.body;
  const api = body.dataset.api;
  const refreshMs = Math.max(1, Number(body.dataset.refreshSeconds) || 5) * 1000;
  // The live region only changes when the state does (loaded, failing, paused): a screen reader should not
  // hear "updated" every few seconds. The time of the last update sits next to it, outside the region.
  const statusEl = document.getElementById('status');
  const updatedEl = document.getElementById('updated');
  function setStatus(text, isError) {
    if (statusEl.textContent !== text) statusEl.textContent = text;
    statusEl.parentElement.classList.toggle('error', isError);
  }
  const pauseButton = document.getElementById('pause');
  let paused = false;
  let timer;
  let lastOk;

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function svg(tag, attributes, children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null) continue;
      if (name === 'text') node.textContent = String(value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }

  function replace(id, ...nodes) {
    const target = $(id);
    if (target) target.replaceChildren(...nodes);
  }

  const integer = new Intl.NumberFormat('en-US');
  function count(value) {
    return integer.format(value);
  }
  function compact(value) {
    if (value >= 1e9) return `${trim(value / 1e9)}B`;
    if (value >= 1e6) return `${trim(value / 1e6)}M`;
    if (value >= 1e3) return `${trim(value / 1e3)}k`;
    return trim(value);
  }
  function trim(value) {
    return Number(value.toPrecision(3)).toString();
  }
  function dollarsShort(value) {
    if (value === 0) return '$0';
    if (value >= 1) return `$${compact(value)}`;
    return `$${Number(value.toPrecision(2))}`;
  }

  /** "Nice" upper bound for an axis so gridlines land on round numbers. */
  function niceMax(value) {
    if (!(value > 0)) return 1;
    const exponent = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * exponent) return step * exponent;
    return 10 * exponent;
  }

  function table(caption, headers, rows, options) {
    const head = el(
      'tr',
      {},
      headers.map((header) =>
        el('th', { scope: 'col', class: header.num ? 'num' : header.className, text: header.label }),
      ),
    );
    const bodyRows = rows.map((row) =>
      el(
        'tr',
        { class: row.className },
        row.cells.map((cell, index) => {
          if (cell instanceof Node) {
            return index === 0
              ? el('th', { scope: 'row', class: 'key' }, [cell])
              : el('td', { class: headers[index].className }, [cell]);
          }
          const attributes = { class: headers[index].num ? 'num' : headers[index].key ? 'key' : undefined, text: cell };
          return index === 0 ? el('th', { scope: 'row', class: 'key', text: cell }) : el('td', attributes);
        }),
      ),
    );
    const wrap = el('div', { class: 'table-wrap' }, [
      el('table', options?.testId ? { 'data-testid': options.testId } : {}, [
        el('caption', { text: caption }),
        el('thead', {}, [head]),
        el('tbody', {}, bodyRows),
      ]),
    ]);
    return wrap;
  }

  function shareBar(fraction, state) {
    const width = Math.max(0, Math.min(1, fraction)) * 100;
    return svg(
      'svg',
      { class: 'share', viewBox: '0 0 100 10', preserveAspectRatio: 'none', 'aria-hidden': 'true', focusable: 'false' },
      [
        svg('rect', { class: 'track', x: 0, y: 0, width: 100, height: 10, rx: 2 }),
        svg('rect', { class: `fill ${state || ''}`, x: 0, y: 0, width: width.toFixed(2), height: 10, rx: 2 }),
      ],
    );
  }

  // ───────────── Charts ─────────────

  /** Charts are drawn at their container's pixel width so text stays readable from phone to desktop. */
  function widthOf(id) {
    const node = $(id);
    return Math.max(280, Math.round(node?.clientWidth || 720));
  }

  function barChart(points, options) {
    const width = options.width;
    const height = Math.round(Math.min(240, Math.max(170, width * 0.3)));
    const margin = { top: 12, right: 8, bottom: 28, left: 52 };
    const innerWidth = width - margin.left - margin.right;
    const innerHeight = height - margin.top - margin.bottom;
    const max = niceMax(Math.max(0, ...points.map((point) => point.value)));
    const slot = innerWidth / Math.max(1, points.length);
    const barWidth = Math.max(2, slot * 0.72);
    const children = [svg('title', { text: options.title })];
    for (let step = 0; step <= 4; step++) {
      const value = (max * step) / 4;
      const y = margin.top + innerHeight - (innerHeight * step) / 4;
      children.push(
        svg('line', {
          class: step === 0 ? 'axis' : 'gridline',
          x1: margin.left,
          x2: width - margin.right,
          y1: y,
          y2: y,
        }),
      );
      children.push(svg('text', { x: margin.left - 6, y: y + 4, 'text-anchor': 'end', text: dollarsShort(value) }));
    }
    const labelEvery = Math.ceil(points.length / Math.max(1, Math.floor(innerWidth / 56)));
    points.forEach((point, index) => {
      const barHeight = max > 0 ? (innerHeight * point.value) / max : 0;
      const x = margin.left + slot * index + (slot - barWidth) / 2;
      children.push(
        svg(
          'rect',
          {
            class: `bar${point.highlight ? ' today' : ''}`,
            x: x.toFixed(1),
            y: (margin.top + innerHeight - barHeight).toFixed(1),
            width: barWidth.toFixed(1),
            height: Math.max(point.value > 0 ? 1 : 0, barHeight).toFixed(1),
          },
          [svg('title', { text: `${point.label}: ${point.display}` })],
        ),
      );
      const isLast = index === points.length - 1;
      if ((index % labelEvery === 0 && (isLast || points.length - 1 - index >= labelEvery * 0.75)) || isLast) {
        children.push(
          svg('text', {
            x: (x + barWidth / 2).toFixed(1),
            y: height - 8,
            'text-anchor': 'middle',
            text: point.shortLabel || point.label,
          }),
        );
      }
    });
    return svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': options.title }, children);
  }

  function stackedBar(segments, title) {
    const total = segments.reduce((sum, segment) => sum + segment.value, 0);
    const width = 400;
    const children = [svg('title', { text: title })];
    let x = 0;
    segments.forEach((segment, index) => {
      const segmentWidth = total > 0 ? (width * segment.value) / total : 0;
      if (segmentWidth > 0) {
        children.push(
          svg('rect', { class: `seg-${index}`, x: x.toFixed(2), y: 0, width: segmentWidth.toFixed(2), height: 28 }, [
            svg('title', { text: `${segment.label}: ${count(segment.value)}` }),
          ]),
        );
      }
      x += segmentWidth;
    });
    if (total === 0) children.push(svg('rect', { x: 0, y: 0, width, height: 28, class: 'gridline', fill: 'none' }));
    return svg(
      'svg',
      { viewBox: `0 0 ${width} 28`, preserveAspectRatio: 'none', role: 'img', 'aria-label': title },
      children,
    );
  }

  function planChart(plan, width) {
    const height = Math.round(Math.min(320, Math.max(230, width * 0.42)));
    const margin = { top: 16, right: 16, bottom: 40, left: 58 };
    const innerWidth = width - margin.left - margin.right;
    const innerHeight = height - margin.top - margin.bottom;
    const curve = plan.curve;
    const maxVolume = curve.volumes[curve.volumes.length - 1] || 1;
    let maxCost = 0;
    for (const value of curve.perToken) maxCost = Math.max(maxCost, value);
    for (const line of curve.plans) for (const value of line.costs) maxCost = Math.max(maxCost, value);
    maxCost = niceMax(maxCost);
    const xOf = (volume) => margin.left + (innerWidth * volume) / maxVolume;
    const yOf = (cost) => margin.top + innerHeight - (innerHeight * Math.min(cost, maxCost)) / maxCost;
    const path = (costs) =>
      curve.volumes
        .map((volume, index) => `${index ? 'L' : 'M'}${xOf(volume).toFixed(1)},${yOf(costs[index]).toFixed(1)}`)
        .join('');
    const children = [svg('title', { text: 'Monthly cost against monthly token volume' })];
    for (let step = 0; step <= 4; step++) {
      const y = margin.top + innerHeight - (innerHeight * step) / 4;
      children.push(
        svg('line', {
          class: step === 0 ? 'axis' : 'gridline',
          x1: margin.left,
          x2: width - margin.right,
          y1: y,
          y2: y,
        }),
      );
      children.push(
        svg('text', { x: margin.left - 6, y: y + 4, 'text-anchor': 'end', text: dollarsShort((maxCost * step) / 4) }),
      );
    }
    for (let step = 0; step <= 4; step++) {
      const volume = (maxVolume * step) / 4;
      children.push(
        svg('text', {
          x: xOf(volume),
          y: height - 20,
          'text-anchor': step === 0 ? 'start' : step === 4 ? 'end' : 'middle',
          text: compact(volume),
        }),
      );
    }
    children.push(
      svg('text', {
        x: margin.left + innerWidth / 2,
        y: height - 4,
        'text-anchor': 'middle',
        text: 'tokens per month',
      }),
    );
    if (plan.p50 && plan.p95) {
      const x50 = xOf(plan.p50.tokens);
      const x95 = xOf(plan.p95.tokens);
      children.push(
        svg(
          'rect',
          {
            class: 'band',
            x: x50.toFixed(1),
            y: margin.top,
            width: Math.max(1, x95 - x50).toFixed(1),
            height: innerHeight,
          },
          [
            svg('title', {
              text: `Projected month: p50 ${compact(plan.p50.tokens)} to p95 ${compact(plan.p95.tokens)} tokens`,
            }),
          ],
        ),
      );
      children.push(svg('line', { class: 'p50', x1: x50, x2: x50, y1: margin.top, y2: margin.top + innerHeight }));
      children.push(svg('text', { class: 'label-strong', x: x50 + 4, y: margin.top + 12, text: 'p50' }));
      children.push(svg('text', { x: x95 + 4, y: margin.top + 26, text: 'p95' }));
    }
    curve.plans.forEach((line, index) => {
      children.push(
        svg('path', { class: `plan plan-${index % 4}`, d: path(line.costs) }, [svg('title', { text: line.name })]),
      );
    });
    children.push(
      svg('path', { class: 'per-token', d: path(curve.perToken) }, [svg('title', { text: curve.perTokenName })]),
    );
    for (const point of plan.breakEven) {
      if (!(point.tokensPerMonth > 0) || point.tokensPerMonth > maxVolume) continue;
      const x = xOf(point.tokensPerMonth);
      const y = yOf(point.costPerMonthNumber);
      children.push(
        svg('circle', { class: 'break-even', cx: x.toFixed(1), cy: y.toFixed(1), r: 6 }, [
          svg('title', { text: `Break-even: ${point.label}` }),
        ]),
      );
      // Near the right edge the label goes to the left of the point, so narrow screens do not clip it.
      const leftOfPoint = x > width - margin.right - 110;
      children.push(
        svg('text', {
          class: 'label-strong',
          x: (leftOfPoint ? x - 9 : x + 9).toFixed(1),
          y: (y - 8).toFixed(1),
          'text-anchor': leftOfPoint ? 'end' : 'start',
          text: `break-even ${compact(point.tokensPerMonth)}`,
        }),
      );
    }
    return svg(
      'svg',
      {
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-label': 'Monthly cost against monthly token volume: pay per token and each flat-rate plan',
      },
      children,
    );
  }

  // ───────────── Sections ─────────────

  function renderKpis(data) {
    const items = [
      {
        id: 'cost-today',
        label: 'Spend today',
        value: data.kpis.today.costDisplay,
        exact: data.kpis.today.cost,
        small: `${count(data.kpis.today.requests)} requests`,
      },
      {
        id: 'cost-month',
        label: 'Spend this month',
        value: data.kpis.month.costDisplay,
        exact: data.kpis.month.cost,
        small: `${count(data.kpis.month.requests)} requests`,
      },
      {
        id: 'cost-range',
        label: `Spend, last ${data.range.days} days`,
        value: data.kpis.range.costDisplay,
        exact: data.kpis.range.cost,
        small: `${count(data.kpis.range.tokens)} tokens`,
      },
      {
        id: 'requests-range',
        label: `Requests, last ${data.range.days} days`,
        value: count(data.kpis.range.requests),
        exact: data.kpis.range.requests,
        small: `${count(data.kpis.range.estimatedRequests)} estimated · ${count(data.kpis.range.unpricedRequests)} unpriced`,
      },
      {
        id: 'rejected-range',
        label: 'Rejected by budget',
        value: count(data.kpis.range.rejectedRequests),
        exact: data.kpis.range.rejectedRequests,
        small: `last ${data.range.days} days`,
        warn: data.kpis.range.rejectedRequests > 0,
      },
    ];
    if (data.plan?.p50) {
      items.push({
        id: 'projected-month',
        label: 'Projected month (p50)',
        value: data.plan.p50.costDisplay,
        exact: data.plan.p50.cost,
        small: `p95 ${data.plan.p95.costDisplay}`,
      });
    }
    replace(
      'kpis',
      ...items.map((item) =>
        el('div', { class: `kpi${item.warn ? ' warn' : ''}` }, [
          el('dt', { text: item.label }),
          el('dd', { 'data-testid': item.id, 'data-value': item.exact }, [
            document.createTextNode(item.value),
            el('small', { text: item.small }),
          ]),
        ]),
      ),
    );
  }

  function renderDaily(data) {
    const points = data.daily.map((day, index) => ({
      label: day.date,
      shortLabel: day.date.slice(5),
      value: Number(day.cost),
      display: `${day.costDisplay}, ${count(day.requests)} requests`,
      highlight: index === data.daily.length - 1,
    }));
    replace(
      'daily-chart',
      barChart(points, {
        width: widthOf('daily-chart'),
        title: `Spend per day over the last ${data.range.days} days; today highlighted`,
      }),
    );
    const peak = data.daily.reduce(
      (best, day) => (Number(day.cost) > Number(best.cost) ? day : best),
      data.daily[0] || { cost: '0' },
    );
    replace(
      'daily-caption',
      document.createTextNode(
        peak && Number(peak.cost) > 0
          ? `Busiest day: ${peak.date} at ${peak.costDisplay}. Today is the last bar.`
          : 'No spend recorded yet.',
      ),
    );
    replace(
      'daily-table',
      table(
        'Spend per day',
        [
          { label: 'Day' },
          { label: 'Requests', num: true },
          { label: 'Tokens', num: true },
          { label: 'Cost', num: true },
        ],
        data.daily.map((day) => ({ cells: [day.date, count(day.requests), count(day.tokens), day.costDisplay] })),
        { testId: 'daily-table' },
      ),
    );
  }

  function renderHourly(data) {
    const points = data.hourly.map((hour) => ({
      label: hour.label,
      shortLabel: hour.label.slice(0, 2),
      value: Number(hour.cost),
      display: `${hour.costDisplay}, ${count(hour.requests)} requests`,
      highlight: hour.current,
    }));
    replace(
      'hourly-chart',
      barChart(points, { width: widthOf('hourly-chart'), title: `Spend per hour today (${data.timeZone})` }),
    );
    const active = data.hourly.filter((hour) => hour.requests > 0);
    replace(
      'hourly-caption',
      document.createTextNode(
        active.length ? `Hours in ${data.timeZone}; the current hour is highlighted.` : 'No requests today yet.',
      ),
    );
    replace(
      'hourly-table',
      table(
        `Spend per hour today (${data.timeZone}), hours with traffic`,
        [{ label: 'Hour' }, { label: 'Requests', num: true }, { label: 'Cost', num: true }],
        active.map((hour) => ({ cells: [hour.label, count(hour.requests), hour.costDisplay] })),
      ),
    );
  }

  function renderBreakdown(id, noun, breakdown) {
    if (!breakdown.rows.length) {
      replace(id, el('p', { class: 'empty', text: 'No traffic in this period.' }));
      return;
    }
    const headers = [
      { label: noun },
      { label: 'Share', className: 'bar-cell' },
      { label: 'Requests', num: true },
      { label: 'Tokens', num: true },
      { label: 'Cost', num: true },
    ];
    const rows = breakdown.rows.map((row) => ({
      className: row.others ? 'others' : undefined,
      cells: [
        row.unpricedRequests ? unpricedKey(row) : row.key,
        shareBar(row.share),
        count(row.requests),
        count(row.tokens),
        row.unpricedRequests === row.requests ? 'unknown' : row.costDisplay,
      ],
    }));
    const caption =
      breakdown.groups > breakdown.rows.length
        ? `Top ${breakdown.rows.length - 1} of ${breakdown.groups} by cost, the rest as "others", last ${breakdown.days} days`
        : `By cost, last ${breakdown.days} days`;
    replace(id, table(caption, headers, rows, { testId: id }));
  }

  // A model without a price must never read as a cheap one: its row says so next to its name.
  function unpricedKey(row) {
    const calls = `${count(row.unpricedRequests)} ${row.unpricedRequests === 1 ? 'call' : 'calls'}`;
    return el('span', {}, [
      document.createTextNode(`${row.key} `),
      el('span', {
        class: 'badge',
        'data-testid': 'unpriced-badge',
        title: `${calls} without a price: their cost is unknown, not $0, and not in the totals`,
        text: `no price · ${calls}`,
      }),
    ]);
  }

  function renderUnpriced(data) {
    const unpriced = data.unpriced;
    const node = document.getElementById('unpriced');
    node.hidden = !unpriced.requests;
    replace(
      'unpriced',
      document.createTextNode(
        unpriced.requests
          ? `${count(unpriced.requests)} ${unpriced.requests === 1 ? 'call' : 'calls'} in the last ${data.range.days} days went to models without a price (${unpriced.byModel.map((row) => `${row.key}: ${count(row.requests)}`).join(', ')}). Their cost is unknown, not $0, and is not in the spend shown; add their prices to the catalog.`
          : '',
      ),
    );
  }

  function renderTokens(data) {
    const segments = data.tokens.map((bucket) => ({ label: bucket.label, value: bucket.tokens }));
    const total = segments.reduce((sum, segment) => sum + segment.value, 0);
    replace('tokens-chart', stackedBar(segments, `Tokens by billing bucket, last ${data.range.days} days`));
    replace(
      'tokens-caption',
      el(
        'ul',
        { class: 'legend' },
        data.tokens.map((bucket, index) =>
          el('li', {}, [
            el('span', { class: `swatch seg-${index}`, 'aria-hidden': 'true' }),
            document.createTextNode(bucket.label),
          ]),
        ),
      ),
    );
    replace(
      'tokens-table',
      table(
        `Tokens by billing bucket, last ${data.range.days} days`,
        [{ label: 'Bucket' }, { label: 'Tokens', num: true }, { label: 'Share', num: true }],
        data.tokens.map((bucket) => ({
          cells: [bucket.label, count(bucket.tokens), total ? `${((100 * bucket.tokens) / total).toFixed(1)} %` : '–'],
        })),
        { testId: 'tokens-table' },
      ),
    );
  }

  function renderBudgets(data) {
    const rejected = data.rejected;
    replace(
      'rejections',
      document.createTextNode(
        rejected.requests
          ? `${count(rejected.requests)} requests were refused by a budget in the last ${data.range.days} days${rejected.byUser.length ? ` (${rejected.byUser.map((row) => `${row.key}: ${count(row.requests)}`).join(', ')})` : ''}.`
          : `No request was refused by a budget in the last ${data.range.days} days.`,
      ),
    );
    if (!data.budgets.length) {
      replace(
        'budgets',
        el('p', {
          class: 'empty',
          text: data.budgetRules
            ? 'Nothing spent against a budget in its current window yet.'
            : 'No budgets given to this dashboard.',
        }),
      );
      return;
    }
    const limit = 12;
    const shown = data.budgets.slice(0, limit);
    const rows = shown.map((budget) => ({
      cells: [
        budget.subject,
        shareBar(budget.fraction, budget.fraction >= 1 ? 'over' : budget.fraction >= 0.8 ? 'near' : ''),
        budget.usedDisplay,
        `${budget.limitDisplay} ${budget.period}`,
        `${Math.round(budget.fraction * 100)} %`,
        count(budget.rejected),
      ],
    }));
    const caption = `Use of each budget in its current window (spent plus in flight), fullest first${data.budgets.length > limit ? `; ${data.budgets.length - limit} more not shown` : ''}`;
    replace(
      'budgets',
      table(
        caption,
        [
          { label: 'Who' },
          { label: 'Use', className: 'bar-cell' },
          { label: 'Used', num: true },
          { label: 'Limit', num: true },
          { label: 'Share', num: true },
          { label: 'Refused', num: true },
        ],
        rows,
        { testId: 'budgets-table' },
      ),
    );
  }

  function renderPlan(data) {
    const plan = data.plan;
    replace('advice', document.createTextNode(plan.advice));
    $('advice').setAttribute('data-testid', 'advice');
    $('plan-table').closest('details').hidden = !plan.curve;
    if (!plan.curve) {
      replace('plan-chart');
      replace('plan-caption');
      replace('plan-table');
      replace('plan-note', document.createTextNode(plan.note || ''));
      return;
    }
    replace('plan-chart', planChart(plan, widthOf('plan-chart')));
    const legend = [
      el('li', {}, [
        el('span', { class: 'line', 'aria-hidden': 'true' }),
        document.createTextNode(plan.curve.perTokenName),
      ]),
    ];
    plan.curve.plans.forEach((line, index) => {
      legend.push(
        el('li', {}, [
          el('span', { class: `line dashed plan-${index % 4}`, 'aria-hidden': 'true' }),
          document.createTextNode(line.name),
        ]),
      );
    });
    legend.push(
      el('li', {}, [
        el('span', { class: 'band-swatch', 'aria-hidden': 'true' }),
        document.createTextNode('projected month, p50 to p95'),
      ]),
    );
    if (plan.breakEven.length)
      legend.push(
        el('li', {}, [
          el('span', { class: 'dot', 'aria-hidden': 'true' }),
          document.createTextNode('break-even volume'),
        ]),
      );
    replace('plan-caption', el('ul', { class: 'legend' }, legend));
    const rows = plan.options.map((option) => ({
      cells: [option.name, option.kind, option.p50Display, option.p95Display],
    }));
    const nodes = [
      table(
        'Monthly cost of each option at the projected volume',
        [{ label: 'Option' }, { label: 'Billing' }, { label: 'At p50', num: true }, { label: 'At p95', num: true }],
        rows,
        { testId: 'plan-table' },
      ),
    ];
    if (plan.breakEven.length) {
      nodes.push(
        table(
          'Break-even volumes',
          [{ label: 'Between' }, { label: 'Tokens per month', num: true }],
          plan.breakEven.map((point) => ({ cells: [point.between.join(' and '), point.label] })),
        ),
      );
    }
    replace('plan-table', ...nodes);
    replace('plan-note', document.createTextNode(plan.note || ''));
  }

  function render(data) {
    document.title = data.title;
    renderKpis(data);
    renderDaily(data);
    renderHourly(data);
    renderUnpriced(data);
    renderBreakdown('by-model', 'Model', data.byModel);
    renderBreakdown('by-route', 'Route', data.byRoute);
    renderBreakdown('by-user', 'User', data.byUser);
    renderTokens(data);
    renderBudgets(data);
    renderPlan(data);
    replace(
      'range',
      document.createTextNode(
        `Period: ${data.range.from.slice(0, 10)} to ${data.range.to.slice(0, 10)} (${data.timeZone}).`,
      ),
    );
  }

  let lastData;
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => lastData && render(lastData), 150);
  });

  async function refresh() {
    clearTimeout(timer);
    try {
      const response = await fetch(api, {
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (!response.ok)
        throw new Error(
          response.status === 401 || response.status === 403 ? 'not authorized' : `HTTP ${response.status}`,
        );
      const data = await response.json();
      render(data);
      lastData = data;
      lastOk = new Date();
      body.dataset.loaded = 'true';
      setStatus(paused ? 'Paused.' : 'Live.', false);
      updatedEl.textContent = `Updated ${lastOk.toLocaleTimeString()}`;
    } catch (error) {
      setStatus(`Could not update (${error?.message ? error.message : 'network error'}).`, true);
      updatedEl.textContent = lastOk ? `Showing data from ${lastOk.toLocaleTimeString()}` : '';
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (!paused && !document.hidden) timer = setTimeout(refresh, refreshMs);
  }

  pauseButton.addEventListener('click', () => {
    paused = !paused;
    pauseButton.setAttribute('aria-pressed', String(paused));
    pauseButton.textContent = paused ? 'Resume updates' : 'Pause updates';
    if (paused) {
      clearTimeout(timer);
      setStatus('Paused.', false);
    } else refresh();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !paused) refresh();
    else clearTimeout(timer);
  });
  refresh();
})();
