-- 20261122009000_cron_tick_bitmaps.sql: the previous-tick search no longer plans queries.
--
-- cron_run_summary_at (the status report) calls cron_previous_tick once per job. Its parser
-- built each field's values with `array(select ...)` and walked them with `for ... in
-- select`: every call ran about a dozen SPI queries, ~0.13 ms a call, most of the status
-- report's cost on a small database (#8). A field is now a boolean array indexed by value
-- (cron_field_bits), built and searched with plain plpgsql expressions: ~0.04–0.07 ms a call.
-- The grammar lives in cron_field_bits alone: cron_field_values (the CHECK on
-- cron_schedules, through cron_expression_valid) now reads its values off the same bitmap.
-- Results and error messages are unchanged (3,000 random expressions and times compared
-- against the old function; tests/it/operations_views.rs checks it against croner).

-- One field of a cron expression as a bitmap: element v (p_min..p_max) is true when the
-- field allows v. Grammar as before: `*`, `n`, `a-b`, with an optional `/step`,
-- comma-separated; `a/step` means a..max. Raises 22023 on a malformed field.
create function public.cron_field_bits(p_field text, p_min integer, p_max integer)
returns boolean[]
language plpgsql
immutable
strict
set search_path = public, pg_temp
as $$
declare
    v_bits boolean[] := array_fill(false, array[p_max - p_min + 1], array[p_min]);
    v_part text;
    v_range text;
    v_step integer;
    v_lo integer;
    v_hi integer;
    v_i integer;
    m text[];
begin
    foreach v_part in array string_to_array(p_field, ',') loop
        m := regexp_match(v_part, '^(\*|\d+|\d+-\d+)(?:/(\d+))?$');
        if m is null then
            raise exception 'invalid cron field `%`', p_field using errcode = '22023';
        end if;
        v_range := m[1];
        v_step := coalesce(m[2]::integer, 1);
        if v_range = '*' then
            v_lo := p_min; v_hi := p_max;
        elsif position('-' in v_range) > 0 then
            v_lo := split_part(v_range, '-', 1)::integer;
            v_hi := split_part(v_range, '-', 2)::integer;
        else
            v_lo := v_range::integer;
            v_hi := case when m[2] is null then v_lo else p_max end;
        end if;
        if v_step < 1 or v_lo < p_min or v_hi > p_max or v_lo > v_hi then
            raise exception 'invalid cron field `%` (values % to %)', p_field, p_min, p_max
                using errcode = '22023';
        end if;
        if v_step = 1 and v_lo = p_min and v_hi = p_max then
            v_bits := array_fill(true, array[p_max - p_min + 1], array[p_min]);
            continue;
        end if;
        v_i := v_lo;
        while v_i <= v_hi loop
            v_bits[v_i] := true;
            v_i := v_i + v_step;
        end loop;
    end loop;
    return v_bits;
end;
$$;

comment on function public.cron_field_bits(text, integer, integer) is
    'One 5-field cron field as a bitmap indexed by value (p_min..p_max).';

create or replace function public.cron_field_values(p_field text, p_min integer, p_max integer)
returns integer[]
language plpgsql
immutable
strict
set search_path = public, pg_temp
as $$
declare
    v_bits boolean[] := public.cron_field_bits(p_field, p_min, p_max);
begin
    return array(select v from generate_series(p_min, p_max) v where v_bits[v]);
end;
$$;

create or replace function public.cron_previous_tick(p_expr text, p_at timestamptz)
returns timestamptz
language plpgsql
immutable
strict
set search_path = public, pg_temp
as $$
declare
    v_fields text[] := regexp_split_to_array(btrim(p_expr), '\s+');
    v_minutes boolean[];
    v_hours boolean[];
    v_doms boolean[];
    v_months boolean[];
    v_dows boolean[];
    v_dom_any boolean;
    v_dow_any boolean;
    v_at timestamp := date_trunc('minute', p_at at time zone 'UTC');
    v_day date := v_at::date;
    v_last_hour integer := extract(hour from v_at)::integer;
    v_last_minute integer := extract(minute from v_at)::integer;
    v_dom_ok boolean;
    v_dow_ok boolean;
    v_hour integer;
    v_minute integer;
begin
    if array_length(v_fields, 1) is distinct from 5 then
        raise exception 'invalid cron expression `%`: 5 fields expected', p_expr using errcode = '22023';
    end if;
    v_minutes := public.cron_field_bits(v_fields[1], 0, 59);
    v_hours := public.cron_field_bits(v_fields[2], 0, 23);
    v_doms := public.cron_field_bits(v_fields[3], 1, 31);
    v_months := public.cron_field_bits(v_fields[4], 1, 12);
    v_dows := public.cron_field_bits(v_fields[5], 0, 7);
    v_dows[0] := v_dows[0] or v_dows[7];  -- 7 is Sunday too
    v_dom_any := v_fields[3] like '*%';
    v_dow_any := v_fields[5] like '*%';
    -- Day by day backwards from p_at's day (whose hours and minutes end at p_at), latest
    -- hour and minute first; at most four years back (a 29 February tick).
    for v_back in 0 .. 4 * 366 loop
        if v_back > 0 then
            v_day := v_day - 1;
            v_last_hour := 23;
            v_last_minute := 59;
        end if;
        continue when not v_months[extract(month from v_day)::integer];
        v_dom_ok := v_doms[extract(day from v_day)::integer];
        v_dow_ok := v_dows[extract(dow from v_day)::integer];
        if v_dom_any or v_dow_any then
            continue when not (v_dom_ok and v_dow_ok);
        else
            continue when not (v_dom_ok or v_dow_ok);
        end if;
        v_hour := v_last_hour;
        while v_hour >= 0 loop
            if v_hours[v_hour] then
                v_minute := case when v_hour = v_last_hour then v_last_minute else 59 end;
                while v_minute >= 0 loop
                    if v_minutes[v_minute] then
                        return (v_day + make_interval(hours => v_hour, mins => v_minute)) at time zone 'UTC';
                    end if;
                    v_minute := v_minute - 1;
                end loop;
            end if;
            v_hour := v_hour - 1;
        end loop;
    end loop;
    return null;
end;
$$;

revoke all on function public.cron_field_bits(text, integer, integer) from public, anon, authenticated;
grant execute on function public.cron_field_bits(text, integer, integer) to service_role;
